// Conversations on disk, under the extension's global storage:
//   history/<conversation id>/conversation.json   turns, answers, regions, image metadata
//   history/<conversation id>/images/<image>      the original images, as files (never base64)
// Every write is atomic: the JSON goes to a temporary file that is flushed and renamed over the
// old one, so a crash or a window reload leaves the old state or the new one, never half of each.
// Images are written before the JSON that names them; files no JSON names are swept on load.
// A conversation file is read as untrusted input: its size is capped before it is read, its
// folder (not what it says) is its id, its image names are plain names inside its folder, and
// the model-sized copies' paths are rebuilt from the image ids, never taken from the file.
import { copyFile, link, lstat, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as v from 'valibot';
import type { Region } from '../grounding';
import { fileExists, FileRefusedError, readRegularFile, TEMPORARY_FILE, writeFileAtomic } from '../files';
import { IMAGE_FORMATS, MAX_TILES, modelCopyPath, modelCopyReady, prepareForModel, tileCount } from '../images';
import { isWholeImage } from '../images/transform';
import { Remedy, type UserError } from '../protocol/remedy';
import { errorMessage } from '../util/errorMessage';
import { SerialQueue } from '../util/serialQueue';
import type { Attachment } from './attachments';
import type { ConversationData, TurnRecord } from './records';

/**
 * The most a conversation file may weigh: read whole and parsed in the host. Answers are text
 * (a long one is tens of kB), images are files beside it; a conversation this big is refused.
 */
export const MAX_CONVERSATION_FILE_BYTES = 32 * 1024 * 1024;

const Num = v.pipe(v.number(), v.finite());
/** Pixel sizes and offsets: whole numbers an image can have. */
const Pixels = (min: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(1_000_000));
const Size = v.object({ width: Pixels(1), height: Pixels(1) });
/** Short strings that name things (ids, file names): nothing else may be huge. */
const Name = v.pipe(v.string(), v.maxLength(500));
/** An image's id names its files (`<id>.<ext>`, the model copy): letters, digits, `_` and `-` only. */
const ImageId = v.pipe(v.string(), v.regex(/^[\w-]{1,200}$/, 'an image id is letters, digits, _ and - only'));
/** A plain file name inside the conversation's images/ folder: no separator, no NUL, no leading dot (so not `.` or `..`). */
const ImageFile = v.pipe(v.string(), v.regex(/^[\w-][\w.-]{0,250}$/, 'an image file is a plain name inside the conversation folder'));

const StoredImage = v.object({
  id: ImageId,
  file: ImageFile,
  name: Name,
  format: v.picklist(IMAGE_FORMATS),
  width: Pixels(1),
  height: Pixels(1),
  tiles: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_TILES + 1)),
  model: v.object({
    /** Written for older readers; never read: the path is rebuilt (see load). */
    modelPath: v.optional(v.unknown()),
    grid: v.object({ cols: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_TILES)), rows: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_TILES)), thumbnail: v.boolean() }),
    tokens: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)),
    transform: v.object({
      stored: Size,
      orientation: v.picklist([1, 2, 3, 4, 5, 6, 7, 8]),
      crop: v.object({ left: Pixels(0), top: Pixels(0), width: Pixels(1), height: Pixels(1) }),
      model: Size,
      devicePixelRatio: v.pipe(Num, v.minValue(0.1), v.maxValue(16)),
    }),
  }),
});
type StoredImage = v.InferOutput<typeof StoredImage>;

const StoredRegion = v.variant('kind', [
  v.object({ kind: v.literal('box'), label: v.nullable(v.string()), box: v.tuple([Num, Num, Num, Num]) }),
  v.object({ kind: v.literal('point'), label: v.nullable(v.string()), point: v.tuple([Num, Num]) }),
  // Added later within the same stored version: files without quads read as before.
  v.object({ kind: v.literal('quad'), label: v.nullable(v.string()), quad: v.tuple([Num, Num, Num, Num, Num, Num, Num, Num]) }),
]);

/** A region as it is stored: the domain's own shape, no other fields. */
function storedRegion(r: Region): v.InferOutput<typeof StoredRegion> {
  if (r.kind === 'box') return { kind: 'box', label: r.label, box: r.box };
  if (r.kind === 'quad') return { kind: 'quad', label: r.label, quad: r.quad };
  return { kind: 'point', label: r.label, point: r.point };
}

/** A turn's status as stored (the stored format's own list: it changes only with its version). */
const StoredTurnStatus = v.picklist(['queued', 'streaming', 'done', 'stopped', 'error']);

const StoredTurn = v.object({
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  question: v.string(),
  prompt: v.nullable(v.string()),
  images: v.array(ImageId),
  target: v.nullable(ImageId),
  answer: v.string(),
  status: StoredTurnStatus,
  regions: v.array(StoredRegion),
  // Added later within the same stored version (optional): a locate preset's zoom-in refine.
  refine: v.optional(v.boolean()),
  refined: v.optional(v.array(v.nullable(StoredRegion))),
  error: v.nullable(
    v.object({
      message: v.string(),
      code: v.optional(v.pipe(v.string(), v.maxLength(100))),
      /** The fixes offered. A remedy this version does not know (or a hostile one) drops the list, not the conversation. */
      remedies: v.optional(v.fallback(v.pipe(v.array(Remedy), v.maxLength(8)), [])),
      /** Before remedies were stored: the setting that fixes it (Open Settings), else Show Log. */
      setting: v.optional(Name),
    }),
  ),
  stats: v.nullable(v.string()),
  /** A clip's frames (the turn's images, in order); absent for images. */
  clip: v.optional(
    v.object({
      name: v.pipe(v.string(), v.maxLength(1000)),
      fps: v.pipe(Num, v.minValue(0)),
      frameCount: v.pipe(Num, v.integer(), v.minValue(1)),
      duration: v.pipe(Num, v.minValue(0)),
      frames: v.pipe(v.array(v.object({ number: v.pipe(Num, v.integer(), v.minValue(1)), index: v.pipe(Num, v.integer(), v.minValue(0)), seconds: v.pipe(Num, v.minValue(0)) })), v.maxLength(64)),
      regionFrames: v.optional(v.pipe(v.array(v.pipe(Num, v.integer(), v.minValue(1))), v.maxLength(10_000))),
    }),
  ),
  /** A follow-up about a clip: the clip's frames (an earlier turn's images), which its regions are drawn on. */
  clipFrames: v.optional(v.pipe(v.array(ImageId), v.maxLength(64))),
});

/** A stored turn's error as the chat shows it; files from before remedies were stored get what the chat offered then. */
function storedError(e: v.InferOutput<typeof StoredTurn>['error']): UserError | null {
  if (!e) return null;
  const openSetting: Remedy = { kind: 'openSetting', setting: e.setting ?? '' };
  const remedies = e.remedies ?? [v.is(Remedy, openSetting) ? openSetting : { kind: 'showLog' }];
  return { message: e.message, ...(e.code !== undefined ? { code: e.code } : {}), remedies };
}

const StoredConversation = v.object({
  version: v.literal(1),
  /** The folder's name, written for people reading the file; a file saying another is refused. */
  id: Name,
  title: v.string(),
  created: Num,
  updated: Num,
  images: v.array(StoredImage),
  turns: v.array(StoredTurn),
});
type StoredConversation = v.InferOutput<typeof StoredConversation>;

export interface HistoryEntry {
  id: string;
  title: string;
  updated: number;
  turns: number;
}

const FILE = 'conversation.json';
const IMAGES = 'images';
const ID = /^[\w-]{1,100}$/;

export class HistoryStore {
  /** Saves of one conversation run one after another, in the order they were asked for. */
  private readonly writes = new Map<string, SerialQueue>();

  constructor(
    readonly dir: string,
    /** Where model-sized copies are (re)made when a stored conversation needs them again. */
    private readonly modelDir: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  private folder(id: string): string {
    if (!ID.test(id)) throw new Error(`invalid conversation id ${JSON.stringify(id)}`);
    return join(this.dir, id);
  }

  /** Every stored conversation, the most recently updated first. Unreadable ones are skipped and logged. */
  async list(): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for (const id of await this.ids()) {
      const stored = await this.read(id);
      if (stored) entries.push({ id, title: stored.title, updated: stored.updated, turns: stored.turns.length });
    }
    return entries.sort((a, b) => b.updated - a.updated);
  }

  private async ids(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory() && ID.test(d.name)).map((d) => d.name);
    } catch {
      return [];
    }
  }

  /** The stored conversation in `id`'s folder, or null (logged) when it is missing or not what this store writes. */
  private async read(id: string): Promise<StoredConversation | null> {
    const file = join(this.folder(id), FILE);
    let text: string;
    try {
      text = (await readRegularFile(file, MAX_CONVERSATION_FILE_BYTES, `${id}/${FILE}`)).toString('utf8');
    } catch (err) {
      // A conversation being created has a folder before its file: not worth a warning.
      if (err instanceof FileRefusedError && !/ENOENT/.test(err.message)) this.log(`history: ${err.message}`);
      return null;
    }
    let parsed;
    try {
      parsed = v.safeParse(StoredConversation, JSON.parse(text));
    } catch (err) {
      this.log(`history: ${id}/${FILE} is not JSON: ${errorMessage(err)}`);
      return null;
    }
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
      this.log(`history: ${id}/${FILE} does not match the stored shape${where ? ` at ${where}` : ''}: ${issue?.message ?? ''}`);
      return null;
    }
    if (parsed.output.id !== id) {
      this.log(`history: ${id}/${FILE} says it is conversation ${JSON.stringify(parsed.output.id.slice(0, 100))}; a conversation is the folder it is in, so it is skipped`);
      return null;
    }
    return parsed.output;
  }

  /** Reads a conversation back; turns that were running when it was saved come back stopped. */
  async load(id: string): Promise<ConversationData | null> {
    const stored = await this.read(id);
    if (!stored) return null;
    const folder = this.folder(id);
    const images = new Map<string, Attachment>();
    for (const s of stored.images) {
      const path = join(folder, IMAGES, s.file);
      // The conversation's own file: not a link to somewhere else, not a folder.
      const kind = await lstat(path).catch(() => null);
      if (!kind?.isFile()) {
        this.log(kind ? `history: ${id}/${IMAGES}/${s.file} is not a plain file; that image is skipped` : `history: ${id} lost its image ${s.file}`);
        continue;
      }
      const { transform, grid, tokens } = s.model;
      // Where ensureModelCopies (and AttachmentStore) put this image's model-sized copy.
      const modelPath = modelCopyPath(this.modelDir, s.id, grid, isWholeImage(transform) ? null : transform.crop);
      images.set(s.id, { id: s.id, path, name: s.name, format: s.format, width: s.width, height: s.height, tiles: s.tiles, model: { modelPath, grid, tokens, transform } });
    }
    await this.sweep(id, stored);
    const pick = (imageId: string) => images.get(imageId);
    const turns = stored.turns.map(
      ({ clipFrames, ...t }): TurnRecord => ({
        ...t,
        images: t.images.map(pick).filter((a): a is Attachment => a !== undefined),
        target: (t.target && pick(t.target)) || null,
        ...(clipFrames ? { clipFrames: clipFrames.map(pick).filter((a): a is Attachment => a !== undefined) } : {}),
        status: t.status === 'queued' || t.status === 'streaming' ? 'stopped' : t.status,
        regions: t.regions,
        error: storedError(t.error),
      }),
    );
    return { id, title: stored.title, created: stored.created, updated: stored.updated, turns };
  }

  /** Makes sure every image of `turns` has its model-sized copy (it may have been pruned since). */
  async ensureModelCopies(images: Attachment[]): Promise<void> {
    for (const a of images) {
      if (await fileExists(a.model.modelPath)) continue;
      const { transform, grid } = a.model;
      const again = await prepareForModel(a.path, {
        outDir: this.modelDir,
        key: a.id,
        maxTiles: tileCount(grid) - (grid.thumbnail ? 1 : 0),
        crop: isWholeImage(transform) ? null : transform.crop,
        devicePixelRatio: transform.devicePixelRatio,
      });
      a.model = again;
    }
  }

  /** Writes a conversation (its images first, then its JSON, atomically). Saves of one id are serialised. */
  save(data: ConversationData): Promise<void> {
    let queue = this.writes.get(data.id);
    if (!queue) this.writes.set(data.id, (queue = new SerialQueue()));
    const next = queue.run(() => this.write(data));
    // Forget the queue once its last write is over, whatever its outcome; the caller gets (and handles) `next`.
    const forget = () => {
      if (queue.pending === 0 && this.writes.get(data.id) === queue) this.writes.delete(data.id);
    };
    next.then(forget, (err: unknown) => {
      forget();
      this.log(`history: saving ${data.id} failed: ${errorMessage(err)}`);
    });
    return next;
  }

  /** Resolves when every save asked for so far has finished. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()].map((q) => q.idle()));
  }

  private async write(data: ConversationData): Promise<void> {
    const folder = this.folder(data.id);
    const imagesDir = join(folder, IMAGES);
    await mkdir(imagesDir, { recursive: true });
    const images = new Map<string, StoredImage>();
    for (const t of data.turns) {
      for (const a of [...t.images, ...(t.target ? [t.target] : []), ...(t.clipFrames ?? [])]) {
        if (images.has(a.id)) continue;
        const file = `${a.id}${extname(a.path) || '.img'}`;
        const dest = join(imagesDir, file);
        // A screen grab's lossless PNG may still be being written (AttachmentStore.addGrab).
        if (a.path !== dest && !(await fileExists(dest))) await modelCopyReady(a.path).then(() => storeImage(a.path, dest));
        images.set(a.id, { id: a.id, file, name: a.name, format: a.format, width: a.width, height: a.height, tiles: a.tiles, model: a.model });
        // From now on the conversation's own copy is the original: it outlives the capture store's pruning.
        a.path = dest;
      }
    }
    const stored: StoredConversation = {
      version: 1,
      id: data.id,
      title: data.title,
      created: data.created,
      updated: data.updated,
      images: [...images.values()],
      turns: data.turns.map((t) => ({
        id: t.id,
        question: t.question,
        prompt: t.prompt,
        images: t.images.map((a) => a.id),
        target: t.target?.id ?? null,
        answer: t.answer,
        status: t.status,
        regions: t.regions.map(storedRegion),
        ...(t.refine ? { refine: true } : {}),
        ...(t.refined ? { refined: t.refined.map((r) => r && storedRegion(r)) } : {}),
        error: t.error && { message: t.error.message, ...(t.error.code !== undefined ? { code: t.error.code } : {}), remedies: t.error.remedies },
        stats: t.stats,
        ...(t.clip ? { clip: t.clip } : {}),
        ...(t.clipFrames ? { clipFrames: t.clipFrames.map((a) => a.id) } : {}),
      })),
    };
    const json = JSON.stringify(stored);
    // Never write what load would refuse to read.
    if (Buffer.byteLength(json) > MAX_CONVERSATION_FILE_BYTES) throw new Error(`conversation ${data.id} is over ${MAX_CONVERSATION_FILE_BYTES / 2 ** 20} MiB; start a new chat (this one is no longer saved)`);
    // Flushed before the rename, or a power cut could leave the new name on empty blocks.
    await writeFileAtomic(join(folder, FILE), json, { fsync: true });
  }

  /** Removes temporary files of interrupted writes and images no saved turn names. */
  private async sweep(id: string, stored: StoredConversation): Promise<void> {
    const folder = this.folder(id);
    if (this.writes.has(id)) return;
    const named = new Set(stored.images.map((i) => i.file));
    const remove = async (path: string) => rm(path, { force: true }).catch((err: Error) => this.log(`history: cannot remove ${path}: ${err.message}`));
    for (const f of await readdir(folder).catch(() => [] as string[])) if (TEMPORARY_FILE.test(f)) await remove(join(folder, f));
    for (const f of await readdir(join(folder, IMAGES)).catch(() => [] as string[])) if (!named.has(f)) await remove(join(folder, IMAGES, f));
  }

  async rename(id: string, title: string): Promise<void> {
    const data = await this.load(id);
    if (!data) throw new Error(`no stored conversation ${id}`);
    await this.save({ ...data, title: title.trim() || data.title });
  }

  /** Deletes a conversation with its image files. */
  async delete(id: string): Promise<void> {
    await this.writes.get(id)?.idle();
    await rm(this.folder(id), { recursive: true, force: true });
  }

  async clear(): Promise<void> {
    for (const id of await this.ids()) await this.delete(id);
  }

  /** Deletes conversations not updated for `days` days (0 keeps all), except `keep`. Returns how many. */
  async prune(days: number, keep: string | null, now = Date.now()): Promise<number> {
    if (!(days > 0)) return 0;
    let n = 0;
    for (const entry of await this.list()) {
      if (entry.id !== keep && now - entry.updated > days * 24 * 3600 * 1000) {
        await this.delete(entry.id);
        n++;
      }
    }
    return n;
  }
}

/** A hard link where the file system allows one (no extra space), else a copy; atomic either way. */
async function storeImage(from: string, to: string): Promise<void> {
  await writeFileAtomic(to, (tmp) => link(from, tmp).catch(() => copyFile(from, tmp)));
  await stat(to);
}
