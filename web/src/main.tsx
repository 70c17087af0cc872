import { render } from 'preact';
import { loadConfig } from './api.js';
import { App } from './app.js';
import { initI18n } from './i18n.js';
import './styles.css';

const start = async () => {
  await Promise.all([initI18n(), loadConfig()]);
  render(<App />, document.getElementById('app')!);
};

void start();
