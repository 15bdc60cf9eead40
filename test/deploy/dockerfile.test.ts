/**
 * The Dockerfile: a two-stage build on a Node LTS slim base, a runtime stage with only the built
 * relay, a numeric non-root user and the paths and port the Kubernetes manifests rely on.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubernetesManifests } from './support/kubernetes-manifests.js';
import { envOf, only, podSpecOf, relayContainerOf, resolvePort } from './support/manifest-accessors.js';
import { parseDockerfile, type Stage } from './support/parse-dockerfile.js';
import { repository } from './support/repository.js';

const { root } = repository;

function envInstructions(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const instruction of stage.instructions.filter((candidate) => candidate.keyword === 'ENV')) {
    for (const match of instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env.set(match[1]!, match[2]!.replace(/^"|"$/g, ''));
  }
  return env;
}

describe('Dockerfile', () => {
  const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const builder = dockerfile.stages[0]!;
  const runtime = dockerfile.stages[dockerfile.stages.length - 1]!;
  const of = (stage: Stage, keyword: string) => stage.instructions.filter((instruction) => instruction.keyword === keyword);

  it('builds in a Node LTS slim builder and runs on the same base', () => {
    expect(dockerfile.stages.length).toBe(2);
    expect(builder.name).toBe('builder');
    const nodeVersion = dockerfile.preamble.find((instruction) => instruction.keyword === 'ARG' && instruction.args.startsWith('NODE_VERSION='));
    expect(Number(nodeVersion?.args.split('=')[1])).toBeGreaterThanOrEqual(22);
    expect(Number(nodeVersion?.args.split('=')[1]) % 2).toBe(0); // even majors are the LTS lines
    expect(builder.from).toBe('node:${NODE_VERSION}-bookworm-slim');
    expect(runtime.from).toBe(builder.from);
  });

  it('compiles better-sqlite3 and the TypeScript in the builder, and keeps only production dependencies', () => {
    const runs = of(builder, 'RUN').map((instruction) => instruction.args).join('\n');
    expect(runs).toMatch(/apt-get install[^\n]*\bpython3\b[^\n]*\bmake\b[^\n]*\bg\+\+/);
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm rebuild better-sqlite3/);
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    // The order matters: build before pruning the compiler away.
    expect(runs.indexOf('npm run build')).toBeLessThan(runs.indexOf('npm prune --omit=dev'));
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const copy of of(builder, 'COPY')) {
      const sources = copy.args.split(/\s+/).filter((part) => !part.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(root, source)), `COPY ${source}: not in the repository`).toBe(true);
        expect(ignored, `COPY ${source}: excluded by .dockerignore`).not.toContain(source);
        expect(ignored).not.toContain(`${source}/`);
      }
    }
  });

  it('ships only the built relay, its production dependencies and its schema', () => {
    const copies = of(runtime, 'COPY');
    expect(copies.length).toBeGreaterThan(0);
    const shipped = copies.map((copy) => {
      expect(copy.args, 'the runtime stage copies from the builder only').toMatch(/^--from=builder\s/);
      return copy.args.split(/\s+/)[1]!.replace(/^\/app\//, '');
    });
    expect(shipped.sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json', 'schema']);
    // bin/relay.js loads the bundled CLI from dist/.
    expect(readFileSync(join(root, 'bin/relay.js'), 'utf8')).toContain('../dist/bundle/main.js');
  });

  it('finds every package the bundle loads at run time among the production dependencies', () => {
    // `npm prune --omit=dev` leaves only `dependencies`: a package the bundle imports from
    // node_modules (better-sqlite3, pg, ioredis, js-tiktoken) must be one of them.
    const bundle = join(root, 'dist/bundle');
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const loaded = new Set<string>();
    // The chunks, and the files copied beside them as they are (the token counter's thread).
    for (const file of readdirSync(bundle).filter((name) => name.endsWith('.js') || name.endsWith('.mjs'))) {
      const code = readFileSync(join(bundle, file), 'utf8');
      for (const match of code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)|\bfrom\s*["']([^"']+)["']|\brequire\s*\(\s*["']([^"']+)["']\s*\)/g)) {
        const specifier = match[1] ?? match[2] ?? match[3]!;
        if (!/^(@[\w.-]+\/)?\w[\w.-]*(\/[\w./-]+)?$/.test(specifier) || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        loaded.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
      }
    }
    expect([...loaded].sort()).toEqual(expect.arrayContaining(['better-sqlite3', 'ioredis', 'js-tiktoken', 'pg']));
    for (const name of loaded) expect(packageJson.dependencies, `${name} is loaded by the bundle at run time`).toHaveProperty([name]);
  });

  it('runs as a numeric non-root user, with the settings and paths the manifests use', () => {
    const users = of(runtime, 'USER');
    expect(users.length).toBe(1);
    const [uid, gid] = users[0]!.args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    const env = envInstructions(runtime);
    expect(Object.fromEntries(env)).toMatchObject({ NODE_ENV: 'production', PORT: '8080', HOST: '0.0.0.0', RELAY_DATA_DIR: '/var/lib/relay' });
    const runs = of(runtime, 'RUN').map((instruction) => instruction.args).join('\n');
    expect(runs, 'the data directory is created and given to the relay user').toMatch(/mkdir -p \/var\/lib\/relay[\s\S]*chown relay:relay \/var\/lib\/relay/);
    expect(runs).toContain(`--uid ${uid}`);
    expect(of(runtime, 'EXPOSE').map((instruction) => instruction.args)).toEqual([env.get('PORT')]);

    const deployment = only(kubernetesManifests.all, 'Deployment');
    expect(podSpecOf(deployment).securityContext.runAsUser).toBe(uid);
    // V8's young generation is set, not sized from the container's memory limit, and the image and
    // the Deployment (which replaces the image's NODE_OPTIONS with its own) set the same.
    expect(env.get('NODE_OPTIONS')).toMatch(/--max-semi-space-size=\d+/);
    expect(envOf(relayContainerOf(deployment)).get('NODE_OPTIONS')).toBe(env.get('NODE_OPTIONS'));
    expect(podSpecOf(deployment).securityContext.runAsGroup).toBe(gid);
    const container = relayContainerOf(deployment);
    expect(resolvePort(container, 'http')).toBe(Number(env.get('PORT')));
    const dataMount = (container.volumeMounts as Array<{ name: string; mountPath: string }>).find((mount) => mount.name === 'data');
    expect(dataMount?.mountPath).toBe(env.get('RELAY_DATA_DIR'));
  });

  it('checks /health with node itself and starts `node bin/relay.js serve` in exec form', () => {
    const healthcheck = of(runtime, 'HEALTHCHECK');
    expect(healthcheck.length).toBe(1);
    expect(healthcheck[0]!.args).toMatch(/CMD \["node", "-e", ".*\/health/);
    expect(healthcheck[0]!.args).not.toMatch(/curl|wget/);
    expect(of(runtime, 'ENTRYPOINT').map((instruction) => JSON.parse(instruction.args))).toEqual([['node', 'bin/relay.js']]);
    expect(of(runtime, 'CMD').map((instruction) => JSON.parse(instruction.args))).toEqual([['serve']]);
  });

  it('puts no secret into the image or its build context', () => {
    for (const stage of dockerfile.stages) {
      for (const instruction of stage.instructions.filter((candidate) => ['ENV', 'ARG'].includes(candidate.keyword))) {
        expect(instruction.args, `${instruction.keyword} ${instruction.args}`).not.toMatch(/(KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL)\b/);
      }
      for (const copy of of(stage, 'COPY').concat(of(stage, 'ADD'))) {
        expect(copy.args).not.toMatch(/(^|\s)\.(\s|$)|\.env|relay\.yaml|secret/);
      }
    }
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const pattern of ['.env', '.env.*', 'relay.yaml', 'node_modules/', 'dist/', 'data/', '.git/', 'deploy/']) expect(ignored).toContain(pattern);
  });
});
