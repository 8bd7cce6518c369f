// Owns handing every store to the component tree through Solid contexts.
import type { JSX } from 'solid-js';
import type { AppStores } from '../stores/app-stores';
import { ChatContext } from '../stores/chat-store';
import { ComposerContext } from '../stores/composer-store';
import { ConversationsContext } from '../stores/conversations-store';
import { EngineContext } from '../stores/engine-store';
import { ModelContext } from '../stores/model-store';
import { NoticeContext } from '../stores/notice-store';
import { PwaContext } from '../stores/pwa-store';
import { SettingsContext } from '../stores/settings-store';

export function AppProviders(props: { stores: AppStores; children: JSX.Element }): JSX.Element {
  const s = props.stores;
  return (
    <NoticeContext.Provider value={s.notices}>
      <SettingsContext.Provider value={s.settings}>
        <EngineContext.Provider value={s.engine}>
          <ConversationsContext.Provider value={s.conversations}>
            <ModelContext.Provider value={s.models}>
              <ComposerContext.Provider value={s.composer}>
                <ChatContext.Provider value={s.chat}>
                  <PwaContext.Provider value={s.pwa}>{props.children}</PwaContext.Provider>
                </ChatContext.Provider>
              </ComposerContext.Provider>
            </ModelContext.Provider>
          </ConversationsContext.Provider>
        </EngineContext.Provider>
      </SettingsContext.Provider>
    </NoticeContext.Provider>
  );
}
