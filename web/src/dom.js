// Builds DOM nodes from text only: no innerHTML anywhere, so a diagnostic message that holds
// markup (a service name like `<img onerror=...>`) always stays text.

/**
 * h('div.card', {title: 'x', onclick}, 'text', child, [more, children])
 * Attributes starting with "on" become listeners, `dataset` is an object, everything else is
 * set with setAttribute. Strings and numbers become text nodes.
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'class') el.className += (el.className ? ' ' : '') + value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Quotes one argument the way a POSIX shell reads it back unchanged. */
export function shellQuote(arg) {
  if (/^[A-Za-z0-9_@%+=:,./#-]+$/.test(arg) && !arg.startsWith('#')) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export const shellCommand = (argv) => argv.map(shellQuote).join(' ');

/** Copies text; falls back to a selected textarea when the Clipboard API is refused. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { style: 'position:fixed;opacity:0' }, text);
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** A short message at the bottom of the page. */
export function toast(message) {
  const el = h('div.toast', { role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.classList.add('leaving'), 1800);
  setTimeout(() => el.remove(), 2300);
}

/** A message with `code` in backticks → text and <code> nodes (never parsed as HTML). */
export function richText(message) {
  const parts = String(message).split('`');
  if (parts.length % 2 === 0) return [message]; // unbalanced backticks: keep it verbatim
  return parts.map((part, i) => (i % 2 ? h('code.inline', part) : part)).filter((part) => part !== '');
}
