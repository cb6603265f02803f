// Table rows kept by key and updated in place: the board redraws every second, and a row's
// controls (an open <select>, the choice made in it, a button busy with its request) must
// survive that. Rows are only re-ordered when the order changes.

/** Make ``tbody`` hold one row per item, in order: ``build(item)`` makes a missing row once,
 * ``update(row, item)`` refreshes every row on every call. */
export function syncRows(tbody, items, keyOf, build, update) {
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const key = String(keyOf(item));
    const row = existing.get(key) ?? build(item);
    row.dataset.key = key;
    update(row, item);
    return row;
  });
  const current = [...tbody.rows];
  const same = rows.length === current.length && rows.every((row, i) => current[i] === row);
  if (!same) tbody.replaceChildren(...rows);
}

/** Set a cell's text (as text, never markup), touching the DOM only when it changes. */
export function setText(node, value) {
  const text = value === null || value === undefined ? "" : String(value);
  if (node.textContent !== text) node.textContent = text;
}

/** Give a <select> these options ([value, label] or {group, options}), keeping the choice
 * made in it when it is still offered. Rebuilt only when ``signature`` changes, so that an
 * open list is not closed under the supervisor's pointer every second. */
export function setOptions(select, signature, entries) {
  if (select.dataset.signature === signature) return;
  const chosen = select.value;
  const option = ([value, label]) => new Option(label, value);
  select.replaceChildren(
    ...entries.map((entry) => {
      if (!entry.group) return option(entry);
      const group = document.createElement("optgroup");
      group.label = entry.group;
      group.append(...entry.options.map(option));
      return group;
    }),
  );
  select.dataset.signature = signature;
  const values = [...select.options].map((o) => o.value);
  select.value = values.includes(chosen) ? chosen : values[0] ?? "";
}
