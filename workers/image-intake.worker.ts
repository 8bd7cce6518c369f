// Owns the heavy half of preparing a picture the user gave the UI: decoding with EXIF orientation, downscaling and
// re-encoding, all on this worker's thread so that a 12000×12000 photo never freezes the page. It never sees the chat.

/** What the page asks: shrink `file` so that its longest side is at most `maxSide` (never enlarge). */
export interface IntakeRequest {
  id: number;
  file: Blob;
  maxSide: number;
  /** Which side to give createImageBitmap (the probe's orientation), or null to decode at full size. */
  resize: 'width' | 'height' | null;
  type: 'image/png' | 'image/jpeg';
}

export type IntakeReply =
  | { id: number; ok: true; blob: Blob; width: number; height: number }
  | { id: number; ok: false; reason: 'undecodable' | 'failed'; message: string };

async function prepare(req: IntakeRequest): Promise<IntakeReply> {
  let bitmap: ImageBitmap;
  try {
    const options: ImageBitmapOptions =
      req.resize === 'width'
        ? { imageOrientation: 'from-image', resizeWidth: req.maxSide, resizeQuality: 'high' }
        : req.resize === 'height'
          ? { imageOrientation: 'from-image', resizeHeight: req.maxSide, resizeQuality: 'high' }
          : { imageOrientation: 'from-image' };
    bitmap = await createImageBitmap(req.file, options);
  } catch (error) {
    return { id: req.id, ok: false, reason: 'undecodable', message: String(error) };
  }
  try {
    if (Math.max(bitmap.width, bitmap.height) > req.maxSide) {
      // The page's probe and the decoder disagreed about orientation: one more, small step.
      const scale = req.maxSide / Math.max(bitmap.width, bitmap.height);
      const smaller = await createImageBitmap(bitmap, {
        resizeWidth: Math.max(1, Math.round(bitmap.width * scale)),
        resizeHeight: Math.max(1, Math.round(bitmap.height * scale)),
        resizeQuality: 'high',
      });
      bitmap.close();
      bitmap = smaller;
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    ctx.drawImage(bitmap, 0, 0);
    const blob = await canvas.convertToBlob(
      req.type === 'image/jpeg' ? { type: req.type, quality: 0.92 } : { type: req.type },
    );
    return { id: req.id, ok: true, blob, width: bitmap.width, height: bitmap.height };
  } catch (error) {
    return { id: req.id, ok: false, reason: 'failed', message: String(error) };
  } finally {
    bitmap.close();
  }
}

self.addEventListener('message', (event: MessageEvent<IntakeRequest>) => {
  void prepare(event.data).then((reply) => self.postMessage(reply));
});
