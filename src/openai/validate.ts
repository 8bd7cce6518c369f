// Owns checking an OpenAI chat-completions request and turning it into the engine's terms. Every field OpenAI defines
// is either honoured, accepted at its no-op value, or refused with an error naming it; unknown fields are refused.
// It must not fetch images or call the engine (completions.ts does).

import type { ChatMessage, SamplingOptions, TemplateName } from '../shared/protocol';
import { invalidRequest, type OpenAIApiError } from './errors';
import type { ImageObject } from './types';

/** An image part before its URL is resolved; `param` names it for errors. */
export interface PendingImage {
  type: 'image';
  source: string | ImageObject;
  param: string;
}

export type PendingPart = { type: 'text'; text: string } | PendingImage;

export interface PendingMessage {
  role: ChatMessage['role'];
  content: string | PendingPart[];
}

/** A valid request in the engine's terms; images are resolved later. */
export interface ParsedChatRequest {
  model: string | undefined;
  messages: PendingMessage[];
  sampling: SamplingOptions;
  stream: boolean;
  includeUsage: boolean;
  conversationId?: string;
  template?: TemplateName;
  contextOverflow?: 'error' | 'drop-oldest-turns';
}

/** OpenAI's sampling defaults, which differ from the engine's own (greedy). */
const OPENAI_DEFAULT_TEMPERATURE = 1;
/** OpenAI accepts at most four stop sequences. */
const MAX_STOPS = 4;

/** OpenAI fields this engine has no use for, accepted only at a value that changes nothing. */
const NO_OP_VALUES: Record<string, (value: unknown) => boolean> = {
  n: (v) => v === 1,
  logprobs: (v) => v === false,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  store: (v) => v === false,
  response_format: (v) => isRecord(v) && v.type === 'text' && Object.keys(v).length === 1,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  tools: (v) => Array.isArray(v) && v.length === 0,
  logit_bias: (v) => isRecord(v) && Object.keys(v).length === 0,
};

/** OpenAI fields refused whatever their value: the engine cannot do what they ask. */
const UNSUPPORTED = new Set([
  'tool_choice',
  'functions',
  'function_call',
  'parallel_tool_calls',
  'top_logprobs',
  'audio',
  'prediction',
  'reasoning_effort',
  'web_search_options',
  'service_tier',
  'metadata',
  'verbosity',
  'prompt_cache_key',
  'safety_identifier',
]);

const HANDLED = new Set([
  'messages',
  'model',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'user',
  'llava',
]);

const TEMPLATES: readonly TemplateName[] = ['model', 'vicuna_v1', 'llava_v1'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isImageObject(value: unknown): value is ImageObject {
  const g = globalThis as { Blob?: typeof Blob; ImageBitmap?: typeof ImageBitmap };
  return (
    (g.Blob !== undefined && value instanceof g.Blob) ||
    (g.ImageBitmap !== undefined && value instanceof g.ImageBitmap)
  );
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function wrongType(param: string, expected: string, value: unknown): OpenAIApiError {
  return invalidRequest(
    param,
    'invalid_type',
    `Invalid type for '${param}': expected ${expected}, got ${typeName(value)}.`,
  );
}

function numberIn(
  param: string,
  value: unknown,
  range: { min: number; max?: number; minExclusive?: boolean; integer?: boolean },
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw wrongType(param, 'a number', value);
  if (range.integer && !Number.isSafeInteger(value)) throw wrongType(param, 'an integer', value);
  const low = range.minExclusive ? value <= range.min : value < range.min;
  if (low || (range.max !== undefined && value > range.max)) {
    const bounds =
      range.max === undefined
        ? `at least ${range.min}${range.minExclusive ? ' (exclusive)' : ''}`
        : `between ${range.min}${range.minExclusive ? ' (exclusive)' : ''} and ${range.max}`;
    throw invalidRequest(param, 'invalid_value', `Invalid '${param}': ${value}. It must be ${bounds}.`);
  }
  return value;
}

function text(param: string, value: unknown): string {
  if (typeof value !== 'string') throw wrongType(param, 'a string', value);
  return value;
}

function unsupported(param: string, what: string): OpenAIApiError {
  return invalidRequest(
    param,
    'unsupported_parameter',
    `'${param}' is not supported by this local LLaVA engine: ${what}.`,
  );
}

/** Message fields OpenAI echoes back in an assistant message: accepted when empty, so a reply can be sent back. */
const EMPTY_MESSAGE_FIELDS: Record<string, (value: unknown) => boolean> = {
  refusal: (v) => v === null,
  tool_calls: (v) => Array.isArray(v) && v.length === 0,
  function_call: (v) => v === null,
  audio: (v) => v === null,
  annotations: (v) => Array.isArray(v) && v.length === 0,
};

function parsePart(part: unknown, param: string, role: ChatMessage['role']): PendingPart {
  if (!isRecord(part)) throw wrongType(param, 'an object', part);
  const type = part.type;
  if (type === 'text') {
    for (const key of Object.keys(part))
      if (key !== 'type' && key !== 'text')
        throw invalidRequest(`${param}.${key}`, 'unknown_parameter', `Unrecognized field '${param}.${key}'.`);
    return { type: 'text', text: text(`${param}.text`, part.text) };
  }
  if (type === 'image_url') {
    if (role !== 'user')
      throw invalidRequest(
        `${param}.type`,
        'invalid_value',
        `Pictures can only be sent in user messages ('${param}' is in a ${role} message).`,
      );
    const image = part.image_url;
    if (!isRecord(image)) throw wrongType(`${param}.image_url`, 'an object', image);
    for (const key of Object.keys(image)) {
      if (key === 'url') continue;
      if (key === 'detail') {
        // LLaVA sees every picture at its vision tower's own resolution; 'low'/'high' would promise something else.
        if (image.detail !== 'auto' && image.detail !== null && image.detail !== undefined)
          throw invalidRequest(
            `${param}.image_url.detail`,
            'unsupported_value',
            `'${param}.image_url.detail' must be 'auto': this engine always uses the model's own image resolution.`,
          );
        continue;
      }
      throw invalidRequest(
        `${param}.image_url.${key}`,
        'unknown_parameter',
        `Unrecognized field '${param}.image_url.${key}'.`,
      );
    }
    const url = image.url;
    const urlParam = `${param}.image_url.url`;
    if (isImageObject(url)) return { type: 'image', source: url, param: urlParam };
    if (typeof url !== 'string') throw wrongType(urlParam, 'a URL string', url);
    if (!/^(data:|blob:|https?:)/i.test(url))
      throw invalidRequest(
        urlParam,
        'invalid_image_url',
        `'${urlParam}' must be a data:, blob:, http: or https: URL.`,
      );
    return { type: 'image', source: url, param: urlParam };
  }
  if (typeof type === 'string')
    throw invalidRequest(
      `${param}.type`,
      'unsupported_value',
      `'${param}.type' is '${type}': only 'text' and 'image_url' parts are supported.`,
    );
  throw wrongType(`${param}.type`, 'a string', type);
}

function parseMessage(message: unknown, param: string): PendingMessage {
  if (!isRecord(message)) throw wrongType(param, 'an object', message);
  const rawRole = message.role;
  if (rawRole === 'tool' || rawRole === 'function')
    throw invalidRequest(
      `${param}.role`,
      'unsupported_value',
      `'${param}.role' is '${rawRole}': tool calls are not supported by this local LLaVA engine.`,
    );
  if (rawRole !== 'system' && rawRole !== 'developer' && rawRole !== 'user' && rawRole !== 'assistant')
    throw invalidRequest(
      `${param}.role`,
      'invalid_value',
      `Invalid '${param}.role': expected 'system', 'developer', 'user' or 'assistant'.`,
    );
  // OpenAI's newer name for the system prompt; the chat templates know only 'system'.
  const role: ChatMessage['role'] = rawRole === 'developer' ? 'system' : rawRole;
  for (const [key, value] of Object.entries(message)) {
    if (key === 'role' || key === 'content' || value === undefined) continue;
    if (EMPTY_MESSAGE_FIELDS[key]?.(value)) continue;
    if (key === 'name') throw unsupported(`${param}.name`, 'the chat templates have no participant names');
    if (key in EMPTY_MESSAGE_FIELDS)
      throw unsupported(`${param}.${key}`, 'tool calls, audio and refusals are not supported');
    throw invalidRequest(`${param}.${key}`, 'unknown_parameter', `Unrecognized field '${param}.${key}'.`);
  }
  const content = message.content;
  if (content === null || content === undefined) {
    if (role !== 'assistant')
      throw invalidRequest(
        `${param}.content`,
        'missing_required_parameter',
        `'${param}.content' is required.`,
      );
    return { role, content: '' };
  }
  if (typeof content === 'string') return { role, content };
  if (!Array.isArray(content)) throw wrongType(`${param}.content`, 'a string or an array of parts', content);
  if (content.length === 0)
    throw invalidRequest(`${param}.content`, 'empty_array', `'${param}.content' must not be empty.`);
  return { role, content: content.map((part, j) => parsePart(part, `${param}.content[${j}]`, role)) };
}

function parseStop(value: unknown): string[] {
  const stops = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(stops)) throw wrongType('stop', 'a string or an array of strings', value);
  if (stops.length > MAX_STOPS)
    throw invalidRequest(
      'stop',
      'invalid_value',
      `'stop' holds ${stops.length} sequences; at most ${MAX_STOPS} are allowed.`,
    );
  return stops.map((stop, i) => {
    const param = typeof value === 'string' ? 'stop' : `stop[${i}]`;
    if (text(param, stop) === '')
      throw invalidRequest(param, 'invalid_value', `'${param}' must not be empty.`);
    return stop as string;
  });
}

function parseExtras(value: unknown, parsed: ParsedChatRequest): void {
  if (!isRecord(value)) throw wrongType('llava', 'an object', value);
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    const param = `llava.${key}`;
    switch (key) {
      case 'conversation_id':
        if (text(param, v) === '')
          throw invalidRequest(param, 'invalid_value', `'${param}' must not be empty.`);
        parsed.conversationId = v as string;
        break;
      case 'template':
        if (!TEMPLATES.includes(v as TemplateName))
          throw invalidRequest(param, 'invalid_value', `'${param}' must be one of ${TEMPLATES.join(', ')}.`);
        parsed.template = v as TemplateName;
        break;
      case 'context_overflow':
        if (v !== 'error' && v !== 'drop-oldest-turns')
          throw invalidRequest(param, 'invalid_value', `'${param}' must be 'error' or 'drop-oldest-turns'.`);
        parsed.contextOverflow = v;
        break;
      case 'top_k':
        parsed.sampling.topK = numberIn(param, v, { min: 0, integer: true });
        break;
      case 'repetition_penalty':
        parsed.sampling.repetitionPenalty = numberIn(param, v, { min: 0, minExclusive: true });
        break;
      default:
        throw invalidRequest(param, 'unknown_parameter', `Unrecognized field '${param}'.`);
    }
  }
}

/**
 * Checks a chat-completions request body.
 * @throws OpenAIApiError (400) naming the first field that is wrong or unsupported.
 */
export function parseChatRequest(body: unknown): ParsedChatRequest {
  if (!isRecord(body)) throw wrongType('body', 'a JSON object', body);
  for (const [key, value] of Object.entries(body)) {
    // OpenAI treats an explicit null like a missing optional field.
    if (value === null || value === undefined || HANDLED.has(key)) continue;
    const noOp = NO_OP_VALUES[key];
    if (noOp) {
      if (noOp(value)) continue;
      throw unsupported(key, `only its default value is accepted (got ${JSON.stringify(value)})`);
    }
    if (UNSUPPORTED.has(key))
      throw unsupported(key, 'the engine generates plain text from text and pictures');
    throw invalidRequest(key, 'unknown_parameter', `Unrecognized request argument supplied: ${key}`);
  }
  const messages = body.messages;
  if (messages === undefined || messages === null)
    throw invalidRequest('messages', 'missing_required_parameter', "Missing required parameter: 'messages'.");
  if (!Array.isArray(messages)) throw wrongType('messages', 'an array', messages);
  if (messages.length === 0) throw invalidRequest('messages', 'empty_array', "'messages' must not be empty.");
  const parsed: ParsedChatRequest = {
    model: body.model === undefined || body.model === null ? undefined : text('model', body.model),
    messages: messages.map((m, i) => parseMessage(m, `messages[${i}]`)),
    sampling: { temperature: OPENAI_DEFAULT_TEMPERATURE },
    stream: false,
    includeUsage: false,
  };
  if (!parsed.messages.some((m) => m.role === 'user'))
    throw invalidRequest('messages', 'invalid_value', "'messages' must hold at least one user message.");
  const s = parsed.sampling;
  if (body.temperature != null) s.temperature = numberIn('temperature', body.temperature, { min: 0, max: 2 });
  if (body.top_p != null) s.topP = numberIn('top_p', body.top_p, { min: 0, max: 1, minExclusive: true });
  if (body.seed != null)
    s.seed = numberIn('seed', body.seed, { min: Number.MIN_SAFE_INTEGER, integer: true });
  const maxTokens =
    body.max_tokens == null ? undefined : numberIn('max_tokens', body.max_tokens, { min: 1, integer: true });
  const maxCompletion =
    body.max_completion_tokens == null
      ? undefined
      : numberIn('max_completion_tokens', body.max_completion_tokens, { min: 1, integer: true });
  if (maxTokens !== undefined && maxCompletion !== undefined && maxTokens !== maxCompletion)
    throw invalidRequest(
      'max_tokens',
      'invalid_value',
      "'max_tokens' and 'max_completion_tokens' disagree; send only 'max_completion_tokens'.",
    );
  const maxNewTokens = maxCompletion ?? maxTokens;
  if (maxNewTokens !== undefined) s.maxNewTokens = maxNewTokens;
  if (body.stop != null) s.stop = parseStop(body.stop);
  if (body.stream != null) {
    if (typeof body.stream !== 'boolean') throw wrongType('stream', 'a boolean', body.stream);
    parsed.stream = body.stream;
  }
  if (body.stream_options != null) {
    if (!parsed.stream)
      throw invalidRequest(
        'stream_options',
        'invalid_value',
        "'stream_options' is only allowed when 'stream' is true.",
      );
    const options = body.stream_options;
    if (!isRecord(options)) throw wrongType('stream_options', 'an object', options);
    for (const [key, v] of Object.entries(options)) {
      if (key !== 'include_usage') {
        if (v === undefined || v === null) continue;
        throw unsupported(`stream_options.${key}`, 'only include_usage is supported');
      }
      if (v !== undefined && v !== null && typeof v !== 'boolean')
        throw wrongType('stream_options.include_usage', 'a boolean', v);
      parsed.includeUsage = v === true;
    }
  }
  if (body.user != null) text('user', body.user);
  if (body.llava != null) parseExtras(body.llava, parsed);
  return parsed;
}
