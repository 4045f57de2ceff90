// The Starlark grammar, tokenized by the engine VS Code uses (vscode-textmate with Oniguruma).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import textmate from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';

const require = createRequire(import.meta.url);
await oniguruma.loadWASM(readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')).buffer);
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async () =>
    textmate.parseRawGrammar(readFileSync(new URL('../syntaxes/starlark.tmLanguage.json', import.meta.url), 'utf8'), 'starlark.json'),
});
const grammar = await registry.loadGrammar('source.starlark');

/** The scopes of every token of `lines`, as "text: innermost scope". */
function tokens(lines) {
  let state = textmate.INITIAL;
  const out = [];
  for (const line of lines) {
    const result = grammar.tokenizeLine(line, state);
    for (const token of result.tokens) {
      const text = line.slice(token.startIndex, token.endIndex);
      if (text.trim()) out.push(`${text.trim()}: ${token.scopes.at(-1)}`);
    }
    state = result.ruleStack;
  }
  return out;
}

test('a function definition, a call with keyword arguments, strings with an emoji, a comment', () => {
  const got = tokens([
    'def run(plan, args = None):  # entry',
    '    plan.add_service(name = "🚀 web", config = ServiceConfig(image = r"nginx\\d"))',
  ]);
  for (const expected of [
    'def: storage.type.function.starlark',
    'run: entity.name.function.starlark',
    'plan: variable.parameter.function.starlark',
    'None: constant.language.starlark',
    'entry: comment.line.number-sign.starlark',
    'add_service: entity.name.function.starlark',
    'name: variable.parameter.function-call.starlark',
    '🚀 web: string.quoted.double.starlark',
    'ServiceConfig: entity.name.type.starlark',
    'image: variable.parameter.function-call.starlark',
    'r: storage.type.string.starlark',
  ]) {
    assert.ok(got.includes(expected), `${expected} in\n${got.join('\n')}`);
  }
});

test('a triple-quoted string spans lines; builtins and keywords', () => {
  const got = tokens(['DOC = """one', 'two"""', 'for x in range(3):', '    if not x: pass']);
  for (const expected of [
    'two: string.quoted.triple.starlark',
    'for: keyword.control.flow.starlark',
    'in: keyword.operator.logical.starlark',
    'range: support.function.builtin.starlark',
    '3: constant.numeric.decimal.starlark',
    'not: keyword.operator.logical.starlark',
    'pass: keyword.control.flow.starlark',
  ]) {
    assert.ok(got.includes(expected), `${expected} in\n${got.join('\n')}`);
  }
});
