import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { Link, Route, Switch, useLocation } from 'wouter-preact';
import { currentLanguage, i18n, LANGUAGES, useT } from './i18n.js';
import { Home } from './pages/home.js';
import { CardActions } from './pages/portal/card.js';
import { CardClientHelp } from './pages/portal/card-client.js';
import { CodeRetrieval } from './pages/portal/code-retrieval.js';
import { HolderLogin } from './pages/portal/login.js';
import { OrderPage } from './pages/portal/order.js';
import { PaymentPage } from './pages/portal/payment.js';
import { StatusQuery } from './pages/query.js';
import { ApplicationLookup } from './pages/station/lookup.js';
import { NewApplication } from './pages/station/new-application.js';
import { Revocation } from './pages/station/revocation.js';
import { OfficerSignIn } from './pages/station/sign-in.js';

const LanguageSwitch = () => {
  const t = useT();
  const lang = currentLanguage();
  return (
    <fieldset class="lang">
      <legend class="sr-only">{t('nav.language')}</legend>
      {LANGUAGES.map((l) => (
        <button
          key={l.code}
          type="button"
          lang={l.htmlLang}
          aria-pressed={lang === l.code ? 'true' : 'false'}
          onClick={() => void i18n.changeLanguage(l.code)}
        >
          {l.label}
        </button>
      ))}
    </fieldset>
  );
};

const NavLink = ({ href, children }: { href: string; children: ComponentChildren }) => {
  const [location] = useLocation();
  const active = href === '/' ? location === '/' : location.startsWith(href);
  return (
    <Link href={href} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
};

/** Moves focus to the page heading after navigation, so keyboard and screen-reader users start there. */
const useFocusOnNavigate = () => {
  const [location] = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = document.querySelector<HTMLElement>('main h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
    window.scrollTo(0, 0);
  }, [location]);
};

export const App = () => {
  const t = useT();
  useFocusOnNavigate();
  return (
    <>
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="site">
        <div class="brand">
          <Link href="/">
            <span class="brand-mark" aria-hidden="true" />
            <span>{t('app.title')}</span>
          </Link>
        </div>
        <LanguageSwitch />
        <nav aria-label={t('nav.main')}>
          <NavLink href="/portal">{t('nav.portal')}</NavLink>
          <NavLink href="/status">{t('nav.status')}</NavLink>
          <NavLink href="/station">{t('nav.station')}</NavLink>
        </nav>
      </header>
      <main id="main">
        <Switch>
          <Route path="/" component={Home} />
          <Route path="/portal/login" component={HolderLogin} />
          <Route path="/portal/payment" component={PaymentPage} />
          <Route path="/portal/subscriber-code" component={CodeRetrieval} />
          <Route path="/portal/card" component={CardActions} />
          <Route path="/portal/card-client" component={CardClientHelp} />
          <Route path="/portal" component={OrderPage} />
          <Route path="/portal/order" component={OrderPage} />
          <Route path="/status" component={StatusQuery} />
          <Route path="/station/sign-in" component={OfficerSignIn} />
          <Route path="/station/applications/new" component={NewApplication} />
          <Route path="/station/applications" component={ApplicationLookup} />
          <Route path="/station/revocation" component={Revocation} />
          <Route path="/station" component={NewApplication} />
          <Route>
            <h1>{t('notFound.title')}</h1>
            <p>
              <Link href="/">{t('notFound.home')}</Link>
            </p>
          </Route>
        </Switch>
      </main>
      <footer class="site">
        <p>{t('app.footer')}</p>
      </footer>
    </>
  );
};
