export { consoleRoutes, type ConsoleDeps } from './routes.ts';
