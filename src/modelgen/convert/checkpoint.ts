// Owns opening a checkpoint folder: a single or sharded (model.safetensors.index.json) safetensors checkpoint, with
// a clear refusal of pickle files. It maps tensor names to files and reads tensors on demand; no model knowledge and
// no I/O of its own (the SourceFolder reads).
import type { Float32Widener } from './chunk-widener';
import { fileLabel, readText, type SourceFolder } from './byte-source';
import { ConvertError } from './errors';
import { SafetensorsFile, type SafetensorsEntry } from './safetensors-reader';

const INDEX = 'model.safetensors.index.json';
export const SAFETENSORS_INDEX = INDEX;
export const PICKLE = /^(pytorch_model.*\.bin|.*\.pt|.*\.pth|.*\.ckpt|mm_projector\.bin)$/;

/** How to re-save a pickle checkpoint as safetensors (torch must be installed; shown in the error). */
export function pickleRecipe(dir: string): string {
  const d = dir.replace(/'/g, "\\'");
  return [
    'Re-save it as safetensors with Python first (PyTorch and safetensors installed), e.g.:',
    `  python -c "import glob, torch; from safetensors.torch import save_file; ` +
      `[save_file({k: v.contiguous() for k, v in torch.load(f, map_location='cpu', weights_only=True).items()}, ` +
      `f[:-4] + '.safetensors', metadata={'format': 'pt'}) for f in glob.glob('${d}/pytorch_model*.bin')]"`,
    'then run the converter again (it reads every *.safetensors file of the folder when there is no index).',
    'For a llava-hf model, downloading its safetensors files instead (huggingface-cli download REPO --include ' +
      '"*.safetensors" "*.json") is simpler.',
  ].join('\n');
}

/** An open checkpoint: every tensor name, its file, and reads on demand. Close it when done. */
export class Checkpoint {
  private constructor(
    /** The folder in messages. */
    readonly dir: string,
    /** Where the files are read from. */
    readonly folder: SourceFolder,
    /** The safetensors files by their name in the folder, in name order (shard order). */
    readonly fileList: ReadonlyArray<{ name: string; file: SafetensorsFile }>,
    private readonly where: Map<string, SafetensorsFile>,
  ) {}

  private get files(): SafetensorsFile[] {
    return this.fileList.map((f) => f.file);
  }

  /** The safetensors file (its name in the folder) that holds `tensor`, or null. */
  fileOf(tensor: string): string | null {
    const f = this.where.get(tensor);
    return this.fileList.find((x) => x.file === f)?.name ?? null;
  }

  /**
   * Opens the checkpoint in `dir`: `model.safetensors.index.json` when present (every file it names must exist and
   * hold the tensors it assigns), else every `*.safetensors` file of the folder.
   * @throws ConvertError 'missing-file' | 'pickle-checkpoint' | 'truncated' | 'bad-header' | 'missing-tensor'
   */
  static open(folder: SourceFolder): Checkpoint {
    const dir = folder.label;
    const names = folder.list();
    const opened = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    const openFile = (name: string): SafetensorsFile => {
      let f = opened.get(name);
      if (f === undefined) {
        f = SafetensorsFile.open(folder.open(name));
        opened.set(name, f);
      }
      return f;
    };
    try {
      if (names.includes(INDEX)) {
        const index = readIndex(folder);
        for (const [tensor, file] of Object.entries(index)) {
          if (!folder.has(file)) {
            throw new ConvertError(
              'missing-file',
              `${INDEX} in ${dir} assigns ${tensor} to ${file}, which is missing. Download every shard.`,
            );
          }
          const f = openFile(file);
          if (!f.entries.has(tensor)) {
            throw new ConvertError(
              'missing-tensor',
              `${INDEX} in ${dir} says ${tensor} is in ${file}, but that file lacks it. Download the shards again.`,
              { details: { tensor, file } },
            );
          }
          where.set(tensor, f);
        }
      } else {
        const shards = names.filter((n) => n.endsWith('.safetensors'));
        if (shards.length === 0) {
          const pickles = names.filter((n) => PICKLE.test(n));
          if (pickles.length > 0) {
            throw new ConvertError(
              'pickle-checkpoint',
              `${dir} holds a PyTorch pickle checkpoint (${pickles.join(', ')}), which the converter does not ` +
                `read: unpickling can run arbitrary code, and pickles cannot be streamed tensor by tensor.\n${pickleRecipe(dir)}`,
              { details: { files: pickles } },
            );
          }
          throw new ConvertError(
            'missing-file',
            `${dir} has no *.safetensors checkpoint. Download the model's safetensors files into it.`,
          );
        }
        for (const s of shards) {
          const f = openFile(s);
          for (const tensor of f.entries.keys()) {
            const prev = where.get(tensor);
            if (prev !== undefined) {
              throw new ConvertError(
                'bad-header',
                `${tensor} appears in both ${prev.path} and ${s} in ${dir}. Remove the stray file.`,
              );
            }
            where.set(tensor, f);
          }
        }
      }
    } catch (error) {
      for (const f of opened.values()) f.close();
      throw error;
    }
    const fileList = [...opened].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return new Checkpoint(
      dir,
      folder,
      fileList.map(([name, file]) => ({ name, file })),
      where,
    );
  }

  /** Every tensor name of the checkpoint. */
  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** Header entry of a tensor (dtype, shape) without reading it. */
  entry(name: string): SafetensorsEntry {
    const f = this.where.get(name);
    const e = f?.entries.get(name);
    if (e === undefined) {
      throw new ConvertError('missing-tensor', `The checkpoint in ${this.dir} has no tensor ${name}.`, {
        details: { tensor: name },
      });
    }
    return e;
  }

  /**
   * A widener of one tensor's bytes, as they stream past, into `out` (float32).
   * @throws ConvertError 'missing-tensor' | 'unsupported-dtype'
   */
  widener(name: string, out: Float32Array<ArrayBuffer>): Float32Widener {
    const f = this.where.get(name);
    if (f === undefined) this.entry(name);
    return (f as SafetensorsFile).widener(name, out);
  }

  /** Total bytes of tensor data (for progress and planning). */
  bytes(): number {
    let n = 0;
    for (const f of this.files) for (const e of f.entries.values()) n += e.byteLength;
    return n;
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

function readIndex(folder: SourceFolder): Record<string, string> {
  const file = fileLabel(folder, INDEX);
  let json: unknown;
  try {
    json = JSON.parse(readText(folder, INDEX));
  } catch (cause) {
    throw new ConvertError('bad-header', `${file} is not valid JSON. Download it again.`, { cause });
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new ConvertError(
      'bad-header',
      `${file} has no weight_map of tensor → file names. Download it again.`,
    );
  }
  return map as Record<string, string>;
}
