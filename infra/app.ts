import { App } from 'aws-cdk-lib';
import { allRoutes } from '../functions/routes.js';
import { buildAcdcApp } from './main.js';

/** The CDK app (`npx cdk synth|deploy`, see cdk.json and docs/deploy.md). */
const app = new App();
buildAcdcApp(app, allRoutes);
app.synth();
