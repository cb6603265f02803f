// Every string the page shows comes from one dictionary per language: i18n/en.json and
// i18n/zh-CN.json. Static text is marked in the HTML (data-i18n, data-i18n-placeholder,
// data-i18n-title); modules call t() and re-render when the language changes.

export const LANGUAGES = ["zh-CN", "en"];
const STORAGE_KEY = "cc.desk.language";
const dictionaries = {};
const listeners = new Set();
let current = "zh-CN";

export function language() {
  return current;
}

/** The text for ``key``, with {name} placeholders filled; the key itself when missing, so a
 * gap shows on screen (and the tests, which compare the dictionaries, catch it first). */
export function t(key, vars = {}) {
  const text = dictionaries[current]?.[key] ?? dictionaries.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** A vocabulary value (tier, state, reason...): its label, else the code as the API sent it. */
export function term(group, code) {
  if (code === null || code === undefined) return "";
  const key = `${group}.${code}`;
  const text = t(key);
  return text === key ? String(code) : text;
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

export async function loadLanguages() {
  await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(`i18n/${lang}.json`, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`dictionary ${lang}: HTTP ${response.status}`);
      dictionaries[lang] = await response.json();
    }),
  );
  const saved = localStorage.getItem(STORAGE_KEY);
  const preferred = navigator.language?.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  current = LANGUAGES.includes(saved) ? saved : preferred;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  applyStatic(document);
  for (const listener of listeners) listener(lang);
}

/** Fill the marked static text, and the language pickers. */
export function applyStatic(root) {
  document.documentElement.lang = current;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const select of root.querySelectorAll("select.lang-select")) {
    select.replaceChildren(
      ...LANGUAGES.map((lang) => new Option(t(`language.${lang}`), lang, false, lang === current)),
    );
  }
}
