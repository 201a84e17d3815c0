// Routing over GraphQL: ratings (rateJob, Job.rating), providers and their
// health (providers, providerHealth), observed figures (providerComparison),
// policy revisions (routingPolicies, routingPolicy, updateRoutingPolicy) and
// the dry run (explainRoute). Thin resolvers over RoutingService and
// RatingService; the shapes are the routing module's own, mapped here.

import { GraphQLError } from 'graphql';
import { assertUnreachable, type JobOperation, type Modality } from '../../domain.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { SHORT_JOB_KIND } from '../../jobs/short-requests.js';
import { parseEditVideo, parseExtendVideo, parseGenerateVideo, parseRouting } from '../../jobs/video-requests.js';
import type { BreakerState, BreakerStateChange } from '../../routing/breakers.js';
import type { Capability, PriceModel, VideoLimits } from '../../routing/capabilities.js';
import type { RatingLoader, JobRating } from '../../routing/ratings.js';
import { videoRouteRequest, type RouteRequest, type SourceFacts } from '../../routing/request.js';
import type { PolicyRevision } from '../../routing/routing-service.js';
import type { FilteredCandidate, RankedCandidate, RouteResult } from '../../routing/router.js';
import type { ComparisonRow, ExpectedFigures } from '../../routing/stats.js';
import { builder, type Context } from '../builder.js';
import { JobOperationEnum, ModalityEnum, RoutingStrategyEnum, TierEnum } from './enums.js';
import { ConflictErrorType, errorResult, NotFoundErrorType, ValidationErrorType, type ErrorResult } from './errors.js';
import { RoutingInput } from './inputs.js';
import { jobResult, JobResultUnion } from './job-result.js';
import { JobType } from './job.js';

const MAX_POLICY_REVISIONS = 100;

// ---------------------------------------------------------------------------
// Ratings

export const JobRatingType = builder.objectRef<JobRating>('JobRating').implement({
  description: 'What a user thought of a finished job (rateJob); BEST_QUALITY routing and providerComparison read these.',
  fields: (t) => ({
    score: t.exposeInt('score', { description: '1 to 5' }),
    comment: t.exposeString('comment', { nullable: true }),
    ratedAt: t.field({ type: 'DateTime', resolve: (rating) => rating.ratedAt }),
  }),
});

/** One loader per request (per GraphQL context), so a page of jobs reads its ratings in one query. */
const ratingLoaders = new WeakMap<Context, RatingLoader>();

function ratingLoader(context: Context): RatingLoader {
  let loader = ratingLoaders.get(context);
  if (!loader) ratingLoaders.set(context, (loader = context.ratings.loader()));
  return loader;
}

builder.objectField(JobType, 'rating', (t) =>
  t.field({
    type: JobRatingType,
    nullable: true,
    description: 'The latest rating, if the job was rated.',
    resolve: (job, _args, context) => ratingLoader(context)(job.id),
  }),
);

// ---------------------------------------------------------------------------
// Providers and health

export const CircuitStateEnum = builder.enumType('CircuitState', {
  values: {
    CLOSED: { description: 'calls go through' },
    OPEN: { description: 'calls are refused until a probe is due' },
    HALF_OPEN: { description: 'one probe is in flight' },
    ISOLATED: { description: 'held open by hand' },
  },
});

type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'ISOLATED';

function circuitState(state: BreakerState): CircuitState {
  switch (state) {
    case 'closed':
      return 'CLOSED';
    case 'open':
      return 'OPEN';
    case 'half-open':
      return 'HALF_OPEN';
    case 'isolated':
      return 'ISOLATED';
    default:
      return assertUnreachable(state);
  }
}

export const ImageConditioningEnum = builder.enumType('ImageConditioning', {
  values: {
    NONE: { description: 'cannot start from an image' },
    OPTIONAL: { description: 'may start from a first-frame image' },
    REQUIRED: { description: 'needs a first-frame image' },
  },
});

const VideoCapabilityType = builder.objectRef<VideoLimits>('VideoCapability').implement({
  description: 'What a video model takes, as the router checks it before submission.',
  fields: (t) => ({
    minSeconds: t.float({ description: 'output seconds of a generation, or added seconds of an extension', resolve: (v) => v.seconds.min }),
    maxSeconds: t.float({ resolve: (v) => v.seconds.max }),
    lengths: t.floatList({
      nullable: true,
      description: 'when set, only these lengths are made (within lengthToleranceSeconds)',
      resolve: (v) => (v.lengths ? [...v.lengths] : null),
    }),
    lengthToleranceSeconds: t.float({ nullable: true, resolve: (v) => v.lengthToleranceSeconds ?? null }),
    resolutions: t.stringList({ resolve: (v) => [...v.resolutions] }),
    aspectRatios: t.stringList({ resolve: (v) => [...v.aspectRatios] }),
    minFps: t.int({ resolve: (v) => v.fps.min }),
    maxFps: t.int({ resolve: (v) => v.fps.max }),
    imageConditioning: t.field({ type: ImageConditioningEnum, resolve: (v) => imageConditioning(v.image) }),
    edits: t.stringList({ description: 'kinds of edit: simple (the local editor), generative', resolve: (v) => [...v.edits] }),
    extensions: t.stringList({ description: 'kinds of extension: freeze, loop, boomerang, continue', resolve: (v) => [...v.extensions] }),
  }),
});

function imageConditioning(image: VideoLimits['image']): 'NONE' | 'OPTIONAL' | 'REQUIRED' {
  switch (image) {
    case 'none':
      return 'NONE';
    case 'optional':
      return 'OPTIONAL';
    case 'required':
      return 'REQUIRED';
    default:
      return assertUnreachable(image);
  }
}

const ProviderExpectationType = builder.objectRef<Capability['expected']>('ProviderExpectation').implement({
  description: 'The priors the router uses until enough jobs have been observed.',
  fields: (t) => ({
    latencyMs: t.exposeFloat('latencyMs', { description: 'time to complete, median' }),
    successRate: t.exposeFloat('successRate'),
    rating: t.exposeFloat('rating', { description: '1 to 5' }),
  }),
});

interface ProviderModelShape {
  capability: Capability;
  health: BreakerState;
}

const ProviderModelType = builder.objectRef<ProviderModelShape>('ProviderModel').implement({
  fields: (t) => ({
    model: t.string({ resolve: (m) => m.capability.model }),
    modality: t.field({ type: ModalityEnum, resolve: (m) => m.capability.modality }),
    operations: t.field({ type: [JobOperationEnum], resolve: (m) => [...m.capability.operations] }),
    health: t.field({
      type: CircuitStateEnum,
      description: "this model's own breaker; the provider's breaker (ProviderInfo.health) applies as well",
      resolve: (m) => circuitState(m.health),
    }),
    video: t.field({ type: VideoCapabilityType, nullable: true, description: 'VIDEO models only', resolve: (m) => m.capability.video ?? null }),
    price: t.field({ type: 'JSON', description: 'the price model, as declared (kind and its rates)', resolve: (m) => m.capability.price }),
    priceSummary: t.string({ description: 'the price model in words', resolve: (m) => describePrice(m.capability.price) }),
    expected: t.field({ type: ProviderExpectationType, resolve: (m) => m.capability.expected }),
  }),
});

function describePrice(price: PriceModel): string {
  switch (price.kind) {
    case 'free':
      return 'free';
    case 'per-output-second':
      return `$${price.usdPerSecond} per second of output`;
    case 'per-credit-second':
      return `${price.creditsPerSecond} credits per second of output at $${price.usdPerCredit} per credit`;
    case 'per-compute-second':
      return `$${price.usdPerComputeSecond} per compute second (about ${price.computeSecondsPerJob} s per job + ${price.computeSecondsPerOutputSecond} s per output second)`;
    case 'per-job':
      return `$${price.usdPerJob} per job`;
    case 'per-token':
      return `$${price.inputPerMillionUsd} per million input tokens, $${price.outputPerMillionUsd} per million output tokens`;
    case 'per-megapixel':
      return `$${price.usdPerMegapixel} per megapixel`;
    case 'per-character':
      return `$${price.usdPerMillionCharacters} per million characters`;
    case 'per-audio-minute':
      return `$${price.usdPerMinute} per minute of audio`;
    default:
      return assertUnreachable(price);
  }
}

interface ProviderInfoShape {
  name: string;
  enabled: boolean;
  health: BreakerState;
  models: ProviderModelShape[];
}

const ProviderInfoType = builder.objectRef<ProviderInfoShape>('ProviderInfo').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    enabled: t.exposeBoolean('enabled', { description: 'registered: its key is set (the local provider always is)' }),
    health: t.field({
      type: CircuitStateEnum,
      description: "the provider's own breaker; CLOSED until it has seen a call",
      resolve: (p) => circuitState(p.health),
    }),
    models: t.field({ type: [ProviderModelType], resolve: (p) => p.models }),
  }),
});

function providerInfos(context: Context): ProviderInfoShape[] {
  const registered = context.routing.registered();
  const breakers = new Map(context.routing.breakerViews().map((view) => [`${view.provider}\u0000${view.model ?? ''}`, view.state]));
  const health = (provider: string, model?: string) => breakers.get(`${provider}\u0000${model ?? ''}`) ?? 'closed';
  const providers = new Map<string, ProviderInfoShape>();
  for (const capability of context.routing.capabilities()) {
    let info = providers.get(capability.provider);
    if (!info) {
      const name = capability.provider;
      info = { name, enabled: name === 'local' || registered.has(name), health: health(name), models: [] };
      providers.set(name, info);
    }
    info.models.push({ capability, health: health(capability.provider, capability.model) });
  }
  return [...providers.values()];
}

const ProviderHealthEventType = builder.objectRef<BreakerStateChange>('ProviderHealthEvent').implement({
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('model', { nullable: true, description: "null for the provider's own breaker" }),
    state: t.field({ type: CircuitStateEnum, resolve: (e) => circuitState(e.state) }),
    previous: t.field({ type: CircuitStateEnum, resolve: (e) => circuitState(e.previous) }),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    reason: t.exposeString('reason', { nullable: true, description: 'the failure that opened it' }),
  }),
});

// ---------------------------------------------------------------------------
// Observed figures

const ProviderComparisonType = builder.objectRef<ComparisonRow>('ProviderComparison').implement({
  description: 'Finished attempts of one provider and model since a time; rates and figures are null without data.',
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('model', { nullable: true, description: 'null for attempts recorded without a model' }),
    jobs: t.exposeInt('jobs', { description: 'finished attempts' }),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed', { description: "failures that were the provider's fault" }),
    successRate: t.exposeFloat('successRate', { nullable: true, description: 'succeeded / (succeeded + failed)' }),
    latencyP50Ms: t.exposeFloat('latencyP50Ms', { nullable: true, description: 'time to complete, succeeded attempts' }),
    latencyP95Ms: t.exposeFloat('latencyP95Ms', { nullable: true }),
    averageCostUsd: t.exposeFloat('avgCostUsd', { nullable: true }),
    averageRating: t.exposeFloat('avgRating', { nullable: true }),
    ratings: t.exposeInt('ratings', { description: 'how many of the jobs were rated' }),
  }),
});

// ---------------------------------------------------------------------------
// Policies

const RoutingPolicyRevisionType = builder.objectRef<PolicyRevision>('RoutingPolicyRevision').implement({
  fields: (t) => ({
    version: t.exposeInt('version'),
    author: t.exposeString('author', { description: "config, bandit, or admin:<caller>" }),
    reason: t.exposeString('reason'),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    policy: t.field({ type: 'JSON', description: 'the whole document, every default filled in', resolve: (r) => r.policy }),
  }),
});

const RoutingPolicyPayloadType = builder.objectRef<{ revision: PolicyRevision }>('RoutingPolicyPayload').implement({
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'revision' in value,
  fields: (t) => ({ revision: t.field({ type: RoutingPolicyRevisionType, resolve: (p) => p.revision }) }),
});

const RoutingPolicyResultUnion = builder.unionType('RoutingPolicyResult', {
  types: [RoutingPolicyPayloadType, ValidationErrorType, ConflictErrorType, NotFoundErrorType],
});

async function policyResult(run: () => Promise<PolicyRevision>): Promise<{ revision: PolicyRevision } | ErrorResult> {
  try {
    return { revision: await run() };
  } catch (error) {
    if (error instanceof ValidationError || error instanceof ConflictError || error instanceof NotFoundError) return errorResult(error);
    throw error;
  }
}

const CanaryActionEnum = builder.enumType('CanaryAction', {
  values: {
    PROMOTE: { description: 'a regular candidate from now on, with no traffic cap' },
    PAUSE: { description: 'no traffic until promoted' },
    REMOVE: { description: 'out of routing: excluded at every tier' },
  },
});

builder.mutationField('updateCanary', (t) =>
  t.field({
    type: RoutingPolicyResultUnion,
    description: 'Promotes, pauses or removes a canary model (a new policy revision). Not yet restricted to administrators.',
    args: {
      provider: t.arg.string({ required: true }),
      model: t.arg.string({ required: true }),
      action: t.arg({ type: CanaryActionEnum, required: true }),
    },
    resolve: (_root, { provider, model, action }, context) =>
      policyResult(() =>
        context.routing.updateCanary({ provider: provider.trim().toLowerCase(), model: model.trim() }, action, `admin:${context.clientKey.slice(0, 8)}`),
      ),
  }),
);

/** The revision this instance routes by (another instance's newer one arrives at the next refresh). */
async function policyInForce(context: Context): Promise<PolicyRevision> {
  const policy = context.routing.policy;
  const revisions = await context.routing.history(MAX_POLICY_REVISIONS);
  return (
    revisions.find((revision) => revision.version === policy.version) ?? {
      version: policy.version,
      policy,
      author: policy.updatedBy,
      reason: '',
      createdAt: new Date(policy.updatedAt),
    }
  );
}

// ---------------------------------------------------------------------------
// explainRoute

export const ExplainRouteInput = builder.inputType('ExplainRouteInput', {
  description: 'A request to route without running it; for VIDEO, validated as the video mutations validate theirs.',
  fields: (t) => ({
    modality: t.field({ type: ModalityEnum, required: true }),
    operation: t.field({ type: JobOperationEnum, required: true }),
    prompt: t.string({ description: 'required for a VIDEO generation or edit: an edit is classified by it' }),
    durationSeconds: t.float(),
    fps: t.int(),
    resolution: t.string(),
    aspectRatio: t.string(),
    imageUrl: t.string(),
    extensionSeconds: t.float({ description: 'required for a VIDEO extension' }),
    sourceDurationSeconds: t.float({ description: 'what is known of an edit or extension source: all three, or none' }),
    sourceWidth: t.int(),
    sourceHeight: t.int(),
    routing: t.field({ type: RoutingInput, description: 'allowFallback does not change the ranking' }),
  }),
});

type ExplainInput = typeof ExplainRouteInput.$inferInput;

/** A source URL for the video parsers: a dry run has no source, and only its facts (below) matter to routing. */
const DRY_RUN_SOURCE_URL = 'https://dry-run.invalid/source.mp4';

const VIDEO_OPERATIONS: readonly JobOperation[] = ['GENERATE', 'EDIT', 'EXTEND'];

export function explainRequest(input: ExplainInput, callerKey: string): RouteRequest {
  const modality: Modality = input.modality;
  const operation: JobOperation = input.operation;
  const wishes = parseRouting(input.routing);
  const common = {
    ...(wishes?.tier ? { tier: wishes.tier } : {}),
    ...(wishes?.strategy ? { strategy: wishes.strategy } : {}),
    ...(wishes?.maxCostUsd !== undefined ? { maxCostUsd: wishes.maxCostUsd } : {}),
    callerKey,
  };
  if (modality !== 'VIDEO') {
    if (!Object.values(SHORT_JOB_KIND).some((kind) => kind.modality === modality && kind.operation === operation)) {
      throw new ValidationError(`${modality} has no ${operation} operation`, 'input.operation');
    }
    const pin = wishes?.provider ? { provider: wishes.provider, ...(wishes.model ? { model: wishes.model } : {}) } : undefined;
    return { modality, operation, ...(pin ? { pin } : {}), ...common };
  }
  if (!VIDEO_OPERATIONS.includes(operation)) {
    throw new ValidationError(`VIDEO takes ${VIDEO_OPERATIONS.join(', ')}, not ${operation}`, 'input.operation');
  }
  const routing = input.routing ?? null;
  const sourceFacts = parseSourceFacts(input);
  switch (operation) {
    case 'GENERATE':
      return videoRouteRequest(
        parseGenerateVideo({
          prompt: input.prompt ?? '',
          durationSeconds: input.durationSeconds,
          fps: input.fps,
          resolution: input.resolution,
          aspectRatio: input.aspectRatio,
          imageUrl: input.imageUrl,
          routing,
        }),
        common,
      );
    case 'EDIT':
      return videoRouteRequest(parseEditVideo({ prompt: input.prompt ?? '', sourceVideoUrl: DRY_RUN_SOURCE_URL, routing }), {
        ...common,
        ...(sourceFacts ? { sourceFacts } : {}),
      });
    case 'EXTEND':
      if (input.extensionSeconds == null) throw new ValidationError('extensionSeconds is required to extend', 'input.extensionSeconds');
      return videoRouteRequest(
        parseExtendVideo({ extensionSeconds: input.extensionSeconds, prompt: input.prompt, sourceVideoUrl: DRY_RUN_SOURCE_URL, routing }),
        { ...common, ...(sourceFacts ? { sourceFacts } : {}) },
      );
    default:
      throw new ValidationError(`VIDEO takes ${VIDEO_OPERATIONS.join(', ')}, not ${operation}`, 'input.operation');
  }
}

function parseSourceFacts(input: ExplainInput): SourceFacts | undefined {
  const { sourceDurationSeconds: durationSeconds, sourceWidth: width, sourceHeight: height } = input;
  if (durationSeconds == null && width == null && height == null) return undefined;
  if (durationSeconds == null || width == null || height == null) {
    const missing = durationSeconds == null ? 'sourceDurationSeconds' : width == null ? 'sourceWidth' : 'sourceHeight';
    throw new ValidationError('give all of sourceDurationSeconds, sourceWidth and sourceHeight, or none', `input.${missing}`);
  }
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) {
    throw new ValidationError('sourceDurationSeconds must be greater than 0', 'input.sourceDurationSeconds');
  }
  if (width < 1) throw new ValidationError('sourceWidth must be 1 or more', 'input.sourceWidth');
  if (height < 1) throw new ValidationError('sourceHeight must be 1 or more', 'input.sourceHeight');
  return { durationSeconds, width, height };
}

/** A query has no result union: bad input is a GraphQL error carrying the code and field. */
function asQueryError(error: unknown): never {
  if (error instanceof ValidationError) {
    throw new GraphQLError(error.message, { extensions: { code: error.code, ...(error.field ? { field: error.field } : {}) } });
  }
  throw error;
}

export const RouteOutcomeEnum = builder.enumType('RouteOutcome', {
  values: {
    ROUTED: { description: 'candidates are ranked' },
    NO_CANDIDATE: { description: 'nothing can serve the request; filtered says why for each' },
    OVER_BUDGET: { description: 'candidates exist, but every estimate is above maxCostUsd; cheapest names the lowest' },
  },
});

export const ComplexityEnum = builder.enumType('Complexity', { values: ['SIMPLE', 'STANDARD', 'COMPLEX'] as const });

export const RouteFilterCodeEnum = builder.enumType('RouteFilterCode', {
  values: ['PIN', 'NOT_REGISTERED', 'CAPABILITY', 'TIER', 'CANARY', 'EXCLUDED', 'CIRCUIT_OPEN', 'UNSUPPORTED', 'OVER_BUDGET'] as const,
});

const FigureSourceEnum = builder.enumType('FigureSource', {
  values: { PRIOR: { description: 'no history yet: the declared priors' }, OBSERVED: { description: 'history blended with the priors' } },
});

const ScorePartsType = builder.objectRef<RankedCandidate['parts']>('RouteScoreParts').implement({
  description: 'Each part in [0, 1], higher is better.',
  fields: (t) => ({
    cost: t.exposeFloat('cost'),
    latency: t.exposeFloat('latency'),
    successRate: t.exposeFloat('successRate'),
    quality: t.exposeFloat('quality'),
  }),
});

const ScoreWeightsType = builder.objectRef<RankedCandidate['weights']>('RouteScoreWeights').implement({
  description: "How much each part counts in the BALANCED score (the rule's weights).",
  fields: (t) => ({
    cost: t.exposeFloat('cost'),
    latency: t.exposeFloat('latency'),
    successRate: t.exposeFloat('successRate'),
    quality: t.exposeFloat('quality'),
  }),
});

const ExpectedFiguresType = builder.objectRef<ExpectedFigures>('RouteExpectedFigures').implement({
  fields: (t) => ({
    latencyMs: t.exposeFloat('latencyMs'),
    latencyP95Ms: t.exposeFloat('latencyP95Ms', { nullable: true }),
    successRate: t.exposeFloat('successRate'),
    rating: t.exposeFloat('rating'),
    averageCostUsd: t.exposeFloat('avgCostUsd', { nullable: true }),
    source: t.field({ type: FigureSourceEnum, resolve: (f) => (f.source === 'prior' ? 'PRIOR' : 'OBSERVED') }),
    samples: t.exposeInt('samples'),
  }),
});

const RouteCandidateType = builder.objectRef<RankedCandidate>('RouteCandidate').implement({
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1 for the first choice' }),
    provider: t.exposeString('provider'),
    model: t.exposeString('model'),
    estimatedCostUsd: t.exposeFloat('estimatedCostUsd'),
    score: t.exposeFloat('score', { description: "the strategy's own measure in [0, 1]" }),
    balancedScore: t.exposeFloat('balancedScore'),
    parts: t.field({ type: ScorePartsType, resolve: (c) => c.parts }),
    weights: t.field({ type: ScoreWeightsType, resolve: (c) => c.weights }),
    expected: t.field({ type: ExpectedFiguresType, resolve: (c) => c.expected }),
    preference: t.exposeString('preference', { nullable: true, description: 'why it was promoted or demoted, when it was' }),
  }),
});

const FilteredCandidateType = builder.objectRef<FilteredCandidate>('RouteFilteredCandidate').implement({
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('model'),
    code: t.field({ type: RouteFilterCodeEnum, resolve: (c) => c.code }),
    reason: t.exposeString('reason'),
    estimatedCostUsd: t.exposeFloat('estimatedCostUsd', { nullable: true, description: 'known once it reached the budget check' }),
  }),
});

const RouteExperimentType = builder.objectRef<NonNullable<RouteResult['experiment']>>('RouteExperiment').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    variant: t.exposeString('variant'),
    applied: t.exposeBoolean('applied', { description: 'the variant decided the route' }),
  }),
});

type Cheapest = Extract<RouteResult, { outcome: 'OVER_BUDGET' }>['cheapest'];

const RouteCheapestType = builder.objectRef<Cheapest>('RouteCheapest').implement({
  fields: (t) => ({
    provider: t.exposeString('provider'),
    model: t.exposeString('model'),
    estimatedCostUsd: t.exposeFloat('estimatedCostUsd'),
  }),
});

const RouteExplanationType = builder.objectRef<RouteResult>('RouteExplanation').implement({
  fields: (t) => ({
    outcome: t.field({ type: RouteOutcomeEnum, resolve: (r) => r.outcome }),
    complexity: t.field({ type: ComplexityEnum, resolve: (r) => r.complexity }),
    complexityReasons: t.stringList({ resolve: (r) => r.complexityReasons }),
    tier: t.field({ type: TierEnum, resolve: (r) => r.tier }),
    strategy: t.field({ type: RoutingStrategyEnum, resolve: (r) => r.strategy }),
    policyVersion: t.exposeInt('policyVersion'),
    candidates: t.field({ type: [RouteCandidateType], description: 'in the order they would be tried', resolve: (r) => r.candidates }),
    filtered: t.field({ type: [FilteredCandidateType], resolve: (r) => r.filtered }),
    experiment: t.field({ type: RouteExperimentType, nullable: true, resolve: (r) => r.experiment ?? null }),
    maxCostUsd: t.float({ nullable: true, resolve: (r) => (r.outcome === 'OVER_BUDGET' ? r.maxCostUsd : null) }),
    cheapest: t.field({
      type: RouteCheapestType,
      nullable: true,
      description: 'OVER_BUDGET: the lowest estimate',
      resolve: (r) => (r.outcome === 'OVER_BUDGET' ? r.cheapest : null),
    }),
  }),
});

// ---------------------------------------------------------------------------
// Fields

builder.queryFields((t) => ({
  providers: t.field({
    type: [ProviderInfoType],
    description: 'Every provider declared in the capabilities, registered or not, with its models and breaker state.',
    resolve: (_root, _args, context) => providerInfos(context),
  }),
  providerComparison: t.field({
    type: [ProviderComparisonType],
    description: 'Per provider and model, attempts of one modality and operation finished since `since`; most jobs first.',
    args: {
      modality: t.arg({ type: ModalityEnum, required: true }),
      operation: t.arg({ type: JobOperationEnum, required: true }),
      since: t.arg({ type: 'DateTime', required: true }),
    },
    resolve: (_root, { modality, operation, since }, context) => context.routing.comparison(modality, operation, since),
  }),
  routingPolicies: t.field({
    type: [RoutingPolicyRevisionType],
    description: 'Policy revisions, newest first.',
    args: { last: t.arg.int({ defaultValue: 10, description: `at most ${MAX_POLICY_REVISIONS}` }) },
    resolve: (_root, { last }, context) => {
      const limit = last ?? 10;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POLICY_REVISIONS) {
        throw new GraphQLError(`last must be from 1 to ${MAX_POLICY_REVISIONS}`, { extensions: { code: 'VALIDATION', field: 'last' } });
      }
      return context.routing.history(limit);
    },
  }),
  routingPolicy: t.field({
    type: RoutingPolicyRevisionType,
    description: 'The revision in force on the instance answering.',
    resolve: (_root, _args, context) => policyInForce(context),
  }),
  explainRoute: t.field({
    type: RouteExplanationType,
    description: 'A dry run of the router: nothing is submitted. Bad input is a GraphQL error with extensions { code: VALIDATION, field }.',
    args: { input: t.arg({ type: ExplainRouteInput, required: true }) },
    resolve: (_root, { input }, context) => {
      let request: RouteRequest;
      try {
        request = explainRequest(input, context.clientKey);
      } catch (error) {
        return asQueryError(error);
      }
      // The adapters' own checks are not asked: they need a resolved source, which a dry run has not got.
      return context.routing.route(request);
    },
  }),
}));

builder.mutationFields((t) => ({
  rateJob: t.field({
    type: JobResultUnion,
    description: 'Rates a SUCCEEDED job from 1 to 5; a new rating replaces the old. Returns the job.',
    args: { id: t.arg.id({ required: true }), score: t.arg.int({ required: true }), comment: t.arg.string() },
    resolve: (_root, { id, score, comment }, context) => jobResult(() => context.ratings.rate(String(id), score, comment)),
  }),
  updateRoutingPolicy: t.field({
    type: RoutingPolicyResultUnion,
    description:
      'Writes a new policy revision (the whole document; omitted fields take their defaults). In force here at once, on other instances within seconds. Not yet restricted to administrators.',
    args: { policy: t.arg({ type: 'JSON', required: true }), reason: t.arg.string({ required: true }) },
    resolve: (_root, { policy, reason }, context) =>
      policyResult(async () => {
        const why = reason.trim();
        if (why === '') throw new ValidationError('reason must not be empty', 'reason');
        // Anything but an object would pass as "every default", silently undoing the rules in force.
        if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
          throw new ValidationError('policy must be a JSON object (the whole policy document)', 'policy');
        }
        return context.routing.updatePolicy(policy, `admin:${context.clientKey.slice(0, 8)}`, why);
      }),
  }),
}));

builder.subscriptionFields((t) => ({
  providerHealth: t.field({
    type: ProviderHealthEventType,
    description: 'Every circuit breaker change from now on: a provider or model opening, probing, closing.',
    subscribe: (_root, _args, context) => context.routing.healthChanges(),
    resolve: (event) => event,
  }),
}));
