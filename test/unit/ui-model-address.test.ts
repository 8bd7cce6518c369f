// "Add a model by address" reads hub repo ids (with revision and mirror), huggingface.co page addresses and folder
// URLs into ModelRefs, and names the field to fix, with a readable reason, for everything malformed.
import { describe, expect, it } from 'vitest';
import { addedModelFromStored, parseModelAddress } from '../../src/ui/lib/model-address';
import { tooManyPictures } from '../../src/ui/lib/picture-limit';

describe('parseModelAddress', () => {
  it('reads a hub repo id, with and without revision and mirror', () => {
    expect(parseModelAddress({ address: ' llava-hf/llava-interleave-qwen-0.5b-hf ' })).toEqual({
      ok: true,
      model: {
        id: 'llava-hf/llava-interleave-qwen-0.5b-hf',
        name: 'llava-hf/llava-interleave-qwen-0.5b-hf',
        ref: { kind: 'hub', repo: 'llava-hf/llava-interleave-qwen-0.5b-hf' },
      },
    });
    const full = parseModelAddress({
      address: 'Xenova/nanoLLaVA',
      revision: 'refs/pr/2',
      endpoint: 'https://hf-mirror.example.org/hub/',
    });
    expect(full).toEqual({
      ok: true,
      model: {
        id: 'Xenova/nanoLLaVA@refs/pr/2',
        name: 'Xenova/nanoLLaVA @ refs/pr/2 (via hf-mirror.example.org/hub)',
        ref: {
          kind: 'hub',
          repo: 'Xenova/nanoLLaVA',
          revision: 'refs/pr/2',
          endpoint: 'https://hf-mirror.example.org/hub',
        },
      },
    });
    // 'main' and the public hub are the defaults: they leave the ref (and so the stored id) as plain as can be.
    const plain = parseModelAddress({
      address: 'a/b',
      revision: 'main',
      endpoint: 'https://huggingface.co/',
    });
    expect(plain.ok && plain.model.ref).toEqual({ kind: 'hub', repo: 'a/b' });
  });

  it('reads huggingface.co page addresses as repo ids, revision included', () => {
    const page = parseModelAddress({ address: 'https://huggingface.co/Xenova/nanoLLaVA/tree/v1.0' });
    expect(page.ok && page.model.ref).toEqual({ kind: 'hub', repo: 'Xenova/nanoLLaVA', revision: 'v1.0' });
    const bare = parseModelAddress({ address: 'https://hf.co/llava-hf/llava-1.5-7b-hf' });
    expect(bare.ok && bare.model.ref).toEqual({ kind: 'hub', repo: 'llava-hf/llava-1.5-7b-hf' });
    expect(parseModelAddress({ address: 'https://huggingface.co/docs' })).toMatchObject({
      ok: false,
      field: 'address',
    });
  });

  it('reads folder URLs (absolute or on this site), always ending in a slash', () => {
    const abs = parseModelAddress({ address: 'http://127.0.0.1:8080/mirror/tiny' });
    expect(abs).toEqual({
      ok: true,
      model: {
        id: 'http://127.0.0.1:8080/mirror/tiny',
        name: 'tiny (127.0.0.1:8080)',
        ref: { kind: 'url', baseUrl: 'http://127.0.0.1:8080/mirror/tiny/' },
      },
    });
    const local = parseModelAddress({ address: '/models/my-llava/' });
    expect(local.ok && local.model.ref).toEqual({ kind: 'url', baseUrl: '/models/my-llava/' });
  });

  it.each([
    [{ address: '' }, 'address', /Enter a hub repo id/],
    [{ address: 'just-a-name' }, 'address', /owner\/name/],
    [{ address: 'a/b/c' }, 'address', /owner\/name/],
    [{ address: 'owner/na me' }, 'address', /letters, digits/],
    [{ address: '-owner/name' }, 'address', /start or end/],
    [{ address: 'owner/na..me' }, 'address', /“\.\.”/],
    [{ address: 'owner/name', revision: 'bad rev' }, 'revision', /branch, tag or commit/],
    [{ address: 'owner/name', revision: '../x' }, 'revision', /not a valid/],
    [{ address: 'owner/name', endpoint: 'hf-mirror.com' }, 'endpoint', /not a valid web address/],
    [{ address: 'owner/name', endpoint: 'ftp://mirror' }, 'endpoint', /https:\/\//],
    [{ address: 'owner/name', endpoint: 'https://m.org/?x=1' }, 'endpoint', /“\?…”/],
    [{ address: 'file:///home/me/model' }, 'address', /cannot read “file:”/],
    [{ address: 'https://user:pw@host/model/' }, 'address', /user name or password/],
    [{ address: 'https://host/model/?sig=1' }, 'address', /“\?…”/],
    [{ address: '//host/model/' }, 'address', /in full/],
    [{ address: 'https://host/model/', revision: 'v1' }, 'revision', /leave the revision empty/],
    [{ address: 'https://host/model/', endpoint: 'https://m.org' }, 'endpoint', /hub repo ids only/],
  ])('refuses %j, naming the field', (input, field, message) => {
    const result = parseModelAddress(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.message).toMatch(message);
  });

  it('re-checks refs read back from settings, dropping tampered ones', () => {
    expect(addedModelFromStored({ kind: 'hub', repo: 'a/b', revision: 'dev' })?.id).toBe('a/b@dev');
    expect(addedModelFromStored({ kind: 'url', baseUrl: 'https://h/m/' })?.id).toBe('https://h/m');
    expect(addedModelFromStored({ kind: 'hub', repo: 'no-slash' })).toBeNull();
    expect(addedModelFromStored({ kind: 'url', baseUrl: 'javascript:alert(1)' })).toBeNull();
    expect(addedModelFromStored({ kind: 'local', id: 'x' })).toBeNull();
    expect(addedModelFromStored('a/b')).toBeNull();
  });
});

describe('tooManyPictures', () => {
  it('is silent when the pictures fit or none are added', () => {
    expect(tooManyPictures(2, 0, 2)).toBeNull();
    expect(tooManyPictures(2, 1, 1)).toBeNull();
    expect(tooManyPictures(2, 5, 0)).toBeNull();
  });

  it('says how many to remove, counting the pictures the conversation already holds', () => {
    expect(tooManyPictures(2, 0, 3)).toBe(
      'This model can look at up to 2 pictures in one conversation. Remove one picture to send this message, or start a new chat for it.',
    );
    expect(tooManyPictures(2, 1, 3)).toMatch(/this one already has one picture\. Remove 2 pictures/);
    expect(tooManyPictures(1, 1, 1)).toMatch(/only one picture .*already has one picture\. Start a new chat/);
    expect(tooManyPictures(2, 0, 3, true)).toMatch(/Nothing was sent to the model\. .*at most 2 pictures\.$/);
  });
});
