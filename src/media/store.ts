// The gateway's media store: finished media lives here and is served from here,
// never from a provider URL that expires. Files are written under a temporary
// name and renamed when complete, so a reader never sees half a file.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';

export interface StoredFile {
  key: string;
  bytes: number;
  modifiedAt: Date;
}

export interface MediaStore {
  /** Absolute path for a key (ffmpeg reads and writes files). */
  pathOf(key: string): string;
  /** A temporary path beside the key's final place; `commit` renames it into place. */
  tempPathFor(key: string): Promise<string>;
  commit(tempPath: string, key: string): Promise<StoredFile>;
  write(key: string, body: Readable): Promise<StoredFile>;
  stat(key: string): Promise<StoredFile | null>;
  read(key: string, range?: { start: number; end: number }): Readable;
  removeJob(jobId: string): Promise<void>;
}

const KEY_PATTERN = /^[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+$/;

/** Keys are `<job id>/<name>.<ext>`; anything else (.., slashes, absolute paths) is refused. */
export function assertValidKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.includes('..')) throw new Error(`invalid media key: ${key}`);
}

export function mediaKey(jobId: string, name: string): string {
  const key = `${jobId}/${name}`;
  assertValidKey(key);
  return key;
}

export class FileMediaStore implements MediaStore {
  constructor(private readonly root: string) {}

  pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, key);
  }

  async tempPathFor(key: string): Promise<string> {
    const finalPath = this.pathOf(key);
    await mkdir(path.dirname(finalPath), { recursive: true });
    const ext = path.extname(finalPath);
    return `${finalPath}.${randomUUID()}.tmp${ext}`;
  }

  async commit(tempPath: string, key: string): Promise<StoredFile> {
    const finalPath = this.pathOf(key);
    await rename(tempPath, finalPath);
    const info = await stat(finalPath);
    return { key, bytes: info.size, modifiedAt: info.mtime };
  }

  async write(key: string, body: Readable): Promise<StoredFile> {
    const temp = await this.tempPathFor(key);
    try {
      await pipeline(body, createWriteStream(temp));
      return await this.commit(temp, key);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, bytes: info.size, modifiedAt: info.mtime } : null;
    } catch {
      return null;
    }
  }

  read(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(key), range);
  }

  async removeJob(jobId: string): Promise<void> {
    await rm(path.join(this.root, jobId), { recursive: true, force: true });
  }
}
