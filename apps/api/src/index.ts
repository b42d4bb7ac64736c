export { type ApiDeps, createApp } from './app.ts';
