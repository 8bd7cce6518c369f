// The model-folder names every part of the app takes from src/shared/model-layout.ts, and the store's use of the one
// llava_browser parser (a server without a listing: the block decides which shard files are fetched).
import { describe, expect, it } from 'vitest';
import {
  decoderShardPath,
  externalDataPaths,
  isExternalDataOf,
  onnxPath,
  parseDecoderShardPath,
} from '../../src/shared/model-layout';
import { guessFiles } from '../../src/store/file-select';

const Q4_DECODER = { vision_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'q4' } as const;

describe('model layout', () => {
  it('names graphs, external data and decoder shards as transformers.js and our converter write them', () => {
    expect(onnxPath('embed_tokens', 'q8')).toBe('onnx/embed_tokens_quantized.onnx');
    expect(onnxPath('decoder_model_merged', 'q4f16')).toBe('onnx/decoder_model_merged_q4f16.onnx');
    expect(externalDataPaths('onnx/a.onnx', 3)).toEqual([
      'onnx/a.onnx_data',
      'onnx/a.onnx_data_1',
      'onnx/a.onnx_data_2',
    ]);
    expect(isExternalDataOf('onnx/a.onnx_data_12', 'onnx/a.onnx')).toBe(true);
    expect(isExternalDataOf('onnx/a.onnx_data_x', 'onnx/a.onnx')).toBe(false);
    expect(decoderShardPath(2, 3, 'q8')).toBe('onnx/decoder_shard_2_of_3_quantized.onnx');
    expect(parseDecoderShardPath('onnx/decoder_shard_2_of_3_quantized.onnx')).toEqual({
      k: 2,
      n: 3,
      dtype: 'q8',
    });
    expect(parseDecoderShardPath('onnx/decoder_shard_1_of_3_q5.onnx')).toBeNull();
    expect(parseDecoderShardPath('onnx/decoder_model_merged.onnx')).toBeNull();
  });

  it('guesses the shard files config.json lists, and refuses a block from a newer converter before any download', () => {
    const block = (format: number) => ({
      llava_browser: {
        format,
        decoder_dtype: 'q4',
        decoder_shards: [
          {
            file: decoderShardPath(1, 2, 'q4'),
            layers: [0, 1],
            external_data: [`${decoderShardPath(1, 2, 'q4')}_data`],
          },
          { file: decoderShardPath(2, 2, 'q4'), layers: [1, 2] },
        ],
      },
    });
    const paths = guessFiles(block(1), Q4_DECODER).map((f) => f.path);
    expect(paths).toContain('onnx/decoder_shard_1_of_2_q4.onnx_data');
    expect(paths).toContain('onnx/decoder_shard_2_of_2_q4.onnx');
    expect(paths).not.toContain('onnx/decoder_model_merged_q4.onnx');
    expect(() => guessFiles(block(2), Q4_DECODER)).toThrow(/newer than this app reads/);
  });
});
