import type { TestEnv } from './context.ts';

/** The origin the console's CSRF check expects from the test requests. */
export const ORIGIN = 'http://localhost';

/** Signs in through the login form like a browser; returns the session cookie and CSRF token. */
export async function consoleLogin(env: TestEnv, key: string, lang: 'en' | 'zh' = 'en'): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const form = await env.app.request('/console/login');
  const loginCookie = /sg_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const res = await env.app.request('/console/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sg_login=${loginCookie}`, origin: ORIGIN },
    body: new URLSearchParams({ key, csrf: csrf ?? '', lang }).toString(),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const session = /sg_session=([^;]+)/.exec(setCookie)?.[1];
  if (res.status !== 303 || !session) return { cookie: '', csrf: '', setCookie };
  const page = await env.app.request('/console/queue', { headers: { cookie: `sg_session=${session}` } });
  const token = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  return { cookie: `sg_session=${session}`, csrf: token, setCookie };
}
