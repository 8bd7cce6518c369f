// Owns wiring the UI's stores together (and nothing else): each gets the others it needs, nothing global.
import type { EngineClient } from '../../client/engine-client';
import { openConversationDb, type ConversationDb } from '../../store/conversations';
import { createChatStore } from './chat-store';
import { createComposerStore } from './composer-store';
import { createConversationsStore } from './conversations-store';
import { createEngineStore } from './engine-store';
import { hasShaderF16 } from '../lib/gpu-features';
import { createModelStore, type WeightsApi } from './model-store';
import { createNoticeStore } from './notice-store';
import { createPwaStore } from './pwa-store';
import { createSettingsStore } from './settings-store';
import { createWorkAhead } from './work-ahead';

export interface AppDeps {
  connectEngine: () => EngineClient;
  weights: WeightsApi;
  conversationDb?: ConversationDb;
}

export function createAppStores(deps: AppDeps) {
  const notices = createNoticeStore();
  const settings = createSettingsStore();
  const engine = createEngineStore(deps.connectEngine, notices);
  const conversations = createConversationsStore(deps.conversationDb ?? openConversationDb());
  const models = createModelStore({ weights: deps.weights, hasShaderF16, engine, settings, notices });
  const composer = createComposerStore(notices);
  const chat = createChatStore({ engine, conversations, settings, ensureModel: models.ensureModel });
  const workAhead = createWorkAhead({ composer, chat });
  const pwa = createPwaStore(notices, () => models.cached().some((m) => m.complete));
  return { notices, settings, engine, conversations, models, composer, chat, workAhead, pwa };
}

export type AppStores = ReturnType<typeof createAppStores>;
