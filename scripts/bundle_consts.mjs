// Gives a bundle's top-level constants back their `const`. When bundling,
// esbuild declares every top-level `const`, `let` and `class` as `var` (on
// purpose, with no option to keep them: evanw/esbuild#623). For V8 that is not
// the same: it folds a module's `const` into the optimized code that reads it,
// while a `var` is a load and a type check at every use. The per-packet code
// names its offsets and flags that way (`const V4_SRC = IPV4_FIELD.SRC`), and
// with the `var`s `stackts read` of the bench capture took ~6% more CPU
// (Node 20) than the same code as tsc's modules.
//
// A top-level `var` becomes `const` when its name is written nowhere in the
// chunk but its own declaration (no assignment, `++`/`--` or `for` target of
// that name, in any scope): the binding the source declared, immutable as
// written. It goes back to `const` only: a source `let` or `class` never
// assigned behaves the same as a `const`, and the temporal dead zone is the
// source's own. `var NAME = ` is rewritten as `const NAME=`, the same number
// of characters, so the source map's columns stay right.
import ts from "typescript";

/** Every identifier name `node` and its children write (assignment targets, `++`/`--` operands, loop targets). */
function writtenNames(file) {
  const written = new Set();
  const targets = (node) => {
    if (ts.isIdentifier(node)) written.add(node.text);
    else if (ts.isParenthesizedExpression(node)) targets(node.expression);
    else if (ts.isArrayLiteralExpression(node)) node.elements.forEach(targets);
    else if (ts.isObjectLiteralExpression(node)) {
      for (const p of node.properties) {
        if (ts.isShorthandPropertyAssignment(p)) written.add(p.name.text);
        else if (ts.isPropertyAssignment(p)) targets(p.initializer);
        else if (ts.isSpreadAssignment(p)) targets(p.expression);
      }
    } else if (ts.isSpreadElement(node)) targets(node.expression);
    else if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken) targets(node.left);
  };
  const visit = (node) => {
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      if (op >= ts.SyntaxKind.FirstAssignment && op <= ts.SyntaxKind.LastAssignment) targets(node.left);
    } else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken)) {
      targets(node.operand);
    } else if ((ts.isForInStatement(node) || ts.isForOfStatement(node)) && !ts.isVariableDeclarationList(node.initializer)) {
      targets(node.initializer);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return written;
}

/**
 * `code` (one chunk of an esbuild ESM bundle) with its never-written
 * top-level `var` declarations made `const` again; `count` says how many.
 */
export function constAgain(code, fileName = "chunk.js") {
  const file = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const written = writtenNames(file);
  const edits = [];
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    if ((list.flags & ts.NodeFlags.BlockScoped) !== 0) continue; // already let/const
    const decls = list.declarations;
    if (!decls.every((d) => ts.isIdentifier(d.name) && d.initializer !== undefined && !written.has(d.name.text))) continue;
    const start = statement.getStart(file);
    const head = `var ${decls[0].name.text} = `;
    // esbuild prints `var NAME = ` (then perhaps a /* @__PURE__ */ mark); anything else is left alone
    if (!code.startsWith(head, start)) continue;
    edits.push({ start, end: start + head.length, text: `const ${decls[0].name.text}=` });
  }
  let out = code;
  for (let k = edits.length - 1; k >= 0; k--) {
    const e = edits[k];
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return { code: out, count: edits.length };
}
