// Building the page from API data. Values always go in as text (textContent), never as markup:
// a client's name or a note can hold anything.

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** A <dl> of [label, value] rows; rows with an empty value are left out. */
export function facts(dl, rows) {
  replace(
    dl,
    rows
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([label, value, testid]) => [
        el("dt", {}, label),
        el("dd", testid ? { "data-testid": testid } : {}, value),
      ]),
  );
}
