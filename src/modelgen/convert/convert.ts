// Owns the Node front end of the converter (`npm run convert`): checkpoint folders on disk in, an output folder on
// disk out (`<out>.partial`, renamed when complete). The conversion itself is convert-core.ts, shared with the
// browser's conversion worker. Node-only.
import { checkArguments, convertFromSources, type ConvertChoices, type ConvertResult } from './convert-core';
import { nodeSourceFolder } from './node-source';
import { OutputFolder } from './output-folder';

export {
  CONVERTER_VERSION,
  DEFAULT_SHARD_BYTES,
  type ConvertProgress,
  type ConvertResult,
} from './convert-core';

export interface ConvertOptions extends ConvertChoices {
  /** Checkpoint folder (config.json + *.safetensors [+ model.safetensors.index.json] + tokenizer files). */
  input: string;
  /** Output folder; written as `<output>.partial` and renamed when complete. */
  output: string;
  /** Separate CLIP checkpoint folder (original LLaVA naming). */
  clip?: string;
  /** Folder to take tokenizer files from instead of `input`. */
  tokenizer?: string;
  /** Replace an existing output folder. */
  force?: boolean;
}

/**
 * Converts a checkpoint folder into an output folder. Every check that needs only headers and JSON runs before the
 * first byte is written; a failure later removes `<output>.partial`.
 * @throws ConvertError (see its codes); DOMException 'AbortError' when aborted.
 */
export function convertCheckpoint(o: ConvertOptions): Promise<ConvertResult> {
  checkArguments(o);
  const { input, output, clip, tokenizer, force, ...choices } = o;
  return convertFromSources({
    ...choices,
    input: nodeSourceFolder(input, 'checkpoint folder with --input'),
    ...(clip === undefined ? {} : { clip: nodeSourceFolder(clip, 'CLIP folder with --clip') }),
    ...(tokenizer === undefined
      ? {}
      : { tokenizer: nodeSourceFolder(tokenizer, 'tokenizer folder with --tokenizer') }),
    createSink: () => OutputFolder.create(output, force === true),
  });
}
