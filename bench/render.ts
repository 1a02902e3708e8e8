/** npx tsx bench/render.ts [bench/results/latest.json]: prints a results file's Markdown table again. */
import { readFileSync } from 'node:fs';
import { renderMarkdown, type Report } from './lib/report.ts';

console.log(renderMarkdown(JSON.parse(readFileSync(process.argv[2] ?? 'bench/results/latest.json', 'utf8')) as Report));
