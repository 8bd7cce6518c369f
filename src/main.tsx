// Owns starting the app: the stores with their real engine client and weight store, the service worker, the render.
import { render } from 'solid-js/web';
import { appEngineWorker } from './client/app-worker';
import { createEngineClient } from './client/engine-client';
import { App } from './ui/components/App';
import { AppProviders } from './ui/components/AppProviders';
import { createAppStores } from './ui/stores/app-stores';
import { createWeightsPort } from './ui/weights-port';
import './ui/styles/index.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

const stores = createAppStores({
  connectEngine: () => createEngineClient({ createWorker: appEngineWorker }),
  weights: createWeightsPort(),
});
stores.pwa.start();

render(
  () => (
    <AppProviders stores={stores}>
      <App />
    </AppProviders>
  ),
  root,
);
