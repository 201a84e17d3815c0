import { builder } from '../builder.js';
import { RoutingStrategyEnum, TierEnum } from './enums.js';

export const RoutingInput = builder.inputType('RoutingInput', {
  fields: (t) => ({
    tier: t.field({ type: TierEnum, description: 'default STANDARD' }),
    strategy: t.field({ type: RoutingStrategyEnum, description: 'default BALANCED' }),
    provider: t.string({ description: 'pin one provider: together, runway, replicate, local' }),
    model: t.string({ description: 'pin one model of the chosen provider' }),
    maxCostUsd: t.float({ description: 'never start a job whose cost estimate exceeds this' }),
    allowFallback: t.boolean({ description: 'default true' }),
  }),
});

export const GenerateTextInput = builder.inputType('GenerateTextInput', {
  fields: (t) => ({
    prompt: t.string({ required: true }),
    system: t.string(),
    maxTokens: t.int(),
    temperature: t.float(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const GenerateCodeInput = builder.inputType('GenerateCodeInput', {
  fields: (t) => ({
    prompt: t.string({ required: true }),
    language: t.string(),
    maxTokens: t.int(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const GenerateImageInput = builder.inputType('GenerateImageInput', {
  fields: (t) => ({
    prompt: t.string({ required: true }),
    width: t.int(),
    height: t.int(),
    count: t.int(),
    seed: t.int(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const GenerateSpeechInput = builder.inputType('GenerateSpeechInput', {
  fields: (t) => ({
    text: t.string({ required: true }),
    voice: t.string(),
    format: t.string(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const TranscribeAudioInput = builder.inputType('TranscribeAudioInput', {
  fields: (t) => ({
    audioUrl: t.string(),
    sourceJobId: t.id(),
    language: t.string(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const AnalyzeImageInput = builder.inputType('AnalyzeImageInput', {
  fields: (t) => ({
    imageUrl: t.string({ required: true }),
    prompt: t.string({ required: true }),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const GenerateVideoInput = builder.inputType('GenerateVideoInput', {
  fields: (t) => ({
    prompt: t.string({ required: true }),
    durationSeconds: t.float({ description: 'default 5' }),
    fps: t.int({ description: 'default 24' }),
    resolution: t.string({ description: 'default 720p' }),
    aspectRatio: t.string(),
    imageUrl: t.string({ description: 'image-to-video: the first frame' }),
    seed: t.int(),
    negativePrompt: t.string(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const EditVideoInput = builder.inputType('EditVideoInput', {
  fields: (t) => ({
    sourceJobId: t.id({ description: 'a finished video job of this API, or' }),
    sourceVideoUrl: t.string({ description: 'a public https URL' }),
    prompt: t.string({ required: true }),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});

export const ExtendVideoInput = builder.inputType('ExtendVideoInput', {
  fields: (t) => ({
    sourceJobId: t.id(),
    sourceVideoUrl: t.string(),
    extensionSeconds: t.float({ required: true }),
    prompt: t.string(),
    routing: t.field({ type: RoutingInput }),
    idempotencyKey: t.string(),
  }),
});
