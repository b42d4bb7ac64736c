export { type Api, type ApiDeps, createApi, createApp } from './app.ts';
