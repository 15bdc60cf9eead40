import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { kindKey, type KubeObject } from './kube-object.js';
import { kubernetesKinds } from './kubernetes-kinds.js';

/** The repository root: the virtual source file must sit where `kubernetes-models` resolves. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The previous program lends its parsed lib and model declarations: only the literals change. */
let previousProgram: ts.Program | undefined;

/**
 * The Kubernetes JSON Schemas allow unknown fields, so `livenesProbe:` or `selectr:` pass them. An
 * object literal checked by TypeScript against the same models does not: excess property checks
 * reject every field the API does not define, at any depth. Kinds without a model are skipped here
 * (kubernetesSchemaProblems reports them).
 */
export function unknownFieldProblems(objects: KubeObject[]): string[] {
  const checked = objects.filter((object) => kubernetesKinds[kindKey(object)] !== undefined);
  // Never written to disk: the compiler host below serves it from memory.
  const file = join(root, `__deploy_manifests_${process.pid}__.ts`);
  const imports = [...new Set(checked.map((object) => kindKey(object)))]
    .map((key) => `import type { ${kubernetesKinds[key]!.typeName} } from '${kubernetesKinds[key]!.typeModule}';`)
    .join('\n');
  const literals = checked.map((object, index) => `export const object${index}: ${kubernetesKinds[kindKey(object)]!.typeName} = ${JSON.stringify(object)};`);
  const source = `${imports}\n${literals.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    resolve(name) === file ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host, previousProgram);
  previousProgram = program;
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    // One import line per kind, then one line per object.
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : -1;
    const object = checked[line - imports.split('\n').length];
    return object ? `${object.kind}/${object.metadata.name}: ${message}` : message;
  });
}
