/** The console's landing page for admins and moderators: the dashboard's charts (charts/dashboard.ts). */
import type { DashboardData } from '../services/dashboard.ts';
import { backlogSvg, clustersSvg, precisionSvg, scoresSvg, volumeSvg } from './charts/dashboard.ts';
import { ct } from './charts/labels.ts';
import { type Html, html } from './html.ts';
import { layout, type PageContext } from './pages.ts';

export function dashboardPage(pc: PageContext, d: DashboardData): Html {
  const { lang } = pc;
  const section = (title: string, chart: Html) => html`<section><h2>${title}</h2>${chart}</section>`;
  return layout(
    pc,
    ct(lang, 'dashboard'),
    html`<h1>${ct(lang, 'dashboard')}</h1>
<p class="muted" data-testid="dashboard-as-of">${ct(lang, 'asOf', { t: d.now.replace('T', ' ').slice(0, 16) })}</p>
<div class="charts-grid" data-testid="dashboard">
${section(ct(lang, 'volume'), volumeSvg(d, lang))}
${section(ct(lang, 'scores'), scoresSvg(d, lang))}
${section(ct(lang, 'backlog'), backlogSvg(d, lang))}
${section(ct(lang, 'clusters'), clustersSvg(d, lang))}
${section(ct(lang, 'precision'), precisionSvg(d, lang))}
</div>`,
  );
}
