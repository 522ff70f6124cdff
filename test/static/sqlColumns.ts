// A deliberately small static reading of the Druid SQL in our dashboards: which tables a query reads,
// which output columns its outermost SELECT names, and which bare identifiers it uses that are
// neither SQL words, function names, aliases nor tables. Not a parser: it relies on the house style
// of grafana/src (every computed column is named with AS, no quoted identifiers except "time").

const SQL_WORDS = new Set(
  (
    'select from where group by order limit offset as and or not case when then else end null is in between ' +
    'asc desc distinct over partition rows range unbounded preceding following current row having interval ' +
    'true false with on join left inner union all cast bigint double varchar timestamp float integer ' +
    'day hour minute second month year week like escape filter current_timestamp window'
  ).split(' '),
);

/** Druid system tables and the columns of them our panels may read. */
export const SYSTEM_TABLE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  'sys.supervisors': ['supervisor_id', 'state', 'detailed_state', 'healthy', 'type', 'source', 'suspended'],
  'sys.segments': [
    'segment_id',
    'datasource',
    'start',
    'end',
    'size',
    'version',
    'partition_num',
    'num_replicas',
    'num_rows',
    'is_published',
    'is_available',
    'is_realtime',
    'is_overshadowed',
  ],
};

/** Removes comments, string literals and Grafana variables so that only SQL structure is left. */
export function stripLiterals(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, " '' ")
    .replace(/\$\{[^}]+\}/g, '0');
}

/** Tables named after FROM / JOIN (datasources and sys.* tables); subqueries are skipped. */
export function tablesOf(sql: string): string[] {
  const out = new Set<string>();
  for (const m of stripLiterals(sql).matchAll(/\b(?:from|join)\s+("?[A-Za-z_][\w.]*"?)/gi)) {
    out.add(m[1]!.replace(/"/g, ''));
  }
  return [...out];
}

/** Every name introduced with AS (column aliases), lower-cased. */
export function aliasesOf(sql: string): Set<string> {
  const out = new Set<string>();
  for (const m of stripLiterals(sql).matchAll(/\bas\s+"?([A-Za-z_]\w*)"?/gi)) out.add(m[1]!.toLowerCase());
  return out;
}

/**
 * Output column names of the outermost SELECT (of each branch of a top-level UNION ALL): the text
 * between the first SELECT at nesting depth 0 and its FROM, split on top-level commas; each item's
 * name is its AS alias or, for a bare column, the column itself.
 */
export function outputColumnsOf(sql: string): string[] {
  const s = stripLiterals(sql);
  const names: string[] = [];
  let depth = 0;
  let i = 0;
  const lower = s.toLowerCase();
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && lower.startsWith('select', i) && !/\w/.test(s[i - 1] ?? ' ')) {
      let j = i + 6;
      let d = 0;
      let item = '';
      const items: string[] = [];
      while (j < s.length) {
        const c = s[j]!;
        if (c === '(') d++;
        if (c === ')') d--;
        if (d === 0 && /^\sfrom\b/i.test(s.slice(j, j + 6))) break;
        if (d === 0 && c === ',') {
          items.push(item);
          item = '';
        } else item += c;
        j++;
      }
      items.push(item);
      for (const it of items) {
        const alias = /\bas\s+"?([A-Za-z_]\w*)"?\s*$/i.exec(it.trim());
        const bare = /^"?([A-Za-z_]\w*)"?$/.exec(it.trim());
        const name = alias?.[1] ?? bare?.[1];
        if (name) names.push(name.toLowerCase());
      }
      i = j;
      continue;
    }
    i++;
  }
  return [...new Set(names)];
}

/**
 * Bare identifiers the query reads that are not SQL words, functions, aliases, tables, or
 * identifiers inside a qualified table name. What remains must be a column of the datasource.
 */
export function unknownIdentifiers(sql: string, knownColumns: ReadonlySet<string>): string[] {
  const s = stripLiterals(sql);
  const aliases = aliasesOf(sql);
  const tables = new Set(tablesOf(sql).flatMap((t) => [t.toLowerCase(), ...t.toLowerCase().split('.')]));
  const unknown = new Set<string>();
  for (const m of s.matchAll(/"([^"]+)"|\b([A-Za-z_]\w*)\b(\s*\()?/g)) {
    const name = (m[1] ?? m[2]!).toLowerCase();
    if (m[3]) continue; // function call
    if (SQL_WORDS.has(name) || aliases.has(name) || tables.has(name)) continue;
    if (/^\d/.test(name)) continue;
    if (!knownColumns.has(name)) unknown.add(name);
  }
  return [...unknown];
}

export interface DatasourceScope {
  /** The table read directly by this SELECT (a datasource or a sys.* table). */
  readonly table: string;
  /** The SELECT … FROM table … text up to the end of its parentheses (or UNION branch). */
  readonly text: string;
}

/** The parenthesis depth at each character: an opening and its closing parenthesis are at the inner depth. */
function parenDepths(s: string): number[] {
  const depthAt: number[] = [];
  let d = 0;
  // By UTF-16 index, as the regex match indices the callers compare against.
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') d++;
    depthAt.push(d);
    if (s[i] === ')') d--;
  }
  return depthAt;
}

/** Each SELECT that reads a table directly (not a subquery), with its own text. */
export function datasourceScopes(sql: string): DatasourceScope[] {
  const s = stripLiterals(sql);
  const depthAt = parenDepths(s);
  const scopes: DatasourceScope[] = [];
  for (const m of s.matchAll(/\bfrom\s+("?[A-Za-z_][\w.]*"?)/gi)) {
    const at = m.index!;
    const depth = depthAt[at]!;
    let start = at;
    while (start > 0) {
      start--;
      if (depthAt[start]! < depth) break;
      if (depthAt[start] === depth && /^select\b/i.test(s.slice(start, start + 7)) && !/\w/.test(s[start - 1] ?? ' '))
        break;
    }
    let end = at;
    while (end < s.length && depthAt[end]! >= depth) {
      if (depthAt[end] === depth && s[end] === ')') break;
      if (depthAt[end] === depth && /^union\b/i.test(s.slice(end, end + 6)) && /\W/.test(s[end - 1] ?? ' ')) break;
      end++;
    }
    scopes.push({ table: m[1]!.replace(/"/g, ''), text: s.slice(start, end) });
  }
  return scopes;
}

/** The scope's text with each nested subquery's body left out (it is a scope of its own): `(SELECT …)` → `()`. */
function withoutSubqueries(text: string): string {
  let out = '';
  let skipDepth = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(') {
      depth++;
      if (!skipDepth && /^\(\s*select\b/i.test(text.slice(i))) skipDepth = depth;
    }
    if (!skipDepth || (c === '(' && skipDepth === depth)) out += c;
    if (c === ')') {
      if (skipDepth === depth) {
        skipDepth = 0;
        out += c;
      }
      depth--;
    }
  }
  return out;
}

/**
 * Strict check for a SELECT that reads a table directly: every identifier except function names,
 * SQL words, the table name and the names right after AS must be a column of that table. In a join, `t.col`
 * names a column of the table when `t` is the table's alias; a column of a joined subquery (`m.col`) is that
 * subquery's output, checked in its own scope.
 */
export function unknownColumnsInScope(scope: DatasourceScope, tableColumns: ReadonlySet<string>): string[] {
  const unknown = new Set<string>();
  const text = withoutSubqueries(scope.text);
  const tableParts = new Set([scope.table.toLowerCase(), ...scope.table.toLowerCase().split('.')]);
  const subqueryAliases = new Set([...text.matchAll(/\(\)\s+as\s+([A-Za-z_]\w*)/gi)].map((m) => m[1]!.toLowerCase()));
  const tableAlias = new RegExp(`\\bfrom\\s+"?${scope.table}"?\\s+as\\s+([A-Za-z_]\\w*)`, 'i').exec(text)?.[1];
  if (tableAlias) tableParts.add(tableAlias.toLowerCase());
  const names =
    /(\bas\s+)?"([^"]+)"|(\bas\s+)?\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b|(\bas\s+)?\b([A-Za-z_]\w*)\b(\s*\()?/gi;
  for (const m of text.matchAll(names)) {
    if (m[1] || m[3] || m[6]) continue; // an alias being defined
    if (m[4] !== undefined) {
      const qualifier = m[4].toLowerCase();
      if (subqueryAliases.has(qualifier) || tableParts.has(`${qualifier}.${m[5]!.toLowerCase()}`)) continue;
      if (qualifier !== tableAlias?.toLowerCase()) unknown.add(`${qualifier}.${m[5]!.toLowerCase()}`);
      else if (!tableColumns.has(m[5]!.toLowerCase())) unknown.add(m[5]!.toLowerCase());
      continue;
    }
    const name = (m[2] ?? m[7]!).toLowerCase();
    if (m[8]) continue; // function call
    if (SQL_WORDS.has(name) || tableParts.has(name)) continue;
    if (!tableColumns.has(name)) unknown.add(name);
  }
  return [...unknown];
}

/**
 * The left side of each JOIN: a table (`FROM stock_now AS s JOIN …`) or a subquery (`FROM (SELECT …) AS s JOIN …`).
 * A join of two subqueries runs on the broker, over both results materialised in its heap.
 */
export function joinBases(sql: string): ('table' | 'subquery')[] {
  const s = stripLiterals(sql);
  const depthAt = parenDepths(s);
  const out: ('table' | 'subquery')[] = [];
  for (const j of s.matchAll(/\bjoin\b/gi)) {
    const depth = depthAt[j.index!]!;
    const froms = [...s.slice(0, j.index).matchAll(/\bfrom\s*(\(?)/gi)].filter((f) => depthAt[f.index!] === depth);
    out.push(froms.at(-1)?.[1] ? 'subquery' : 'table');
  }
  return out;
}
