import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { allRoutes } from '../../functions/routes.js';
import { type AcdcApp, buildAcdcApp } from '../../infra/main.js';

/**
 * The CDK app exactly as `cdk synth` builds it (cdk.json's context, the real route table), but without
 * bundling (context aws:cdk:bundling-stacks = []) and without cdk-nag (the synth test runs that once),
 * so assertion tests take a second instead of a minute.
 */
export const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;

export const buildTestApp = (context: Record<string, unknown> = {}): AcdcApp => {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
    // The CLI synth (test/infra/synth.test.ts) runs CDK's CloudFormation validation; here it only costs time.
    builtinCloudFormationValidation: false,
  });
  return buildAcdcApp(app, allRoutes, { nag: false });
};

export type Json = Record<string, unknown>;

export const resourcesOf = (template: Template, type: string): Record<string, Json> =>
  template.findResources(type) as Record<string, Json>;

export const propsOf = (r: Json): Json => (r.Properties ?? {}) as Json;

/** Every template of the app, by stack name (one synthesis). */
export const templates = (acdc: AcdcApp): Map<string, Template> => {
  const assembly = (acdc.keys.node.root as App).synth();
  return new Map(
    acdc.stacks.map((s: Stack) => [
      s.stackName,
      Template.fromJSON(assembly.getStackByName(s.stackName).template),
    ]),
  );
};

/** A CloudFormation value as a string, so `*` can be searched for inside joins and subs. */
export const flat = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];
