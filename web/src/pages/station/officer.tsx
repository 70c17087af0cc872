import { useEffect } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { ApiError, type OfficerSession, officerSession, setOfficerSession } from '../../api.js';
import { useT } from '../../i18n.js';

/** The signed-in officer, or a redirect to the sign-in page (coming back here afterwards). */
export const useOfficer = (): OfficerSession | undefined => {
  const [location, navigate] = useLocation();
  const session = officerSession();
  useEffect(() => {
    if (!session) navigate(`/station/sign-in?next=${encodeURIComponent(location)}`, { replace: true });
  }, [session?.token]);
  return session;
};

/** An officer token the API refused (expired, other issuer): sign in again. */
export const isSessionProblem = (e: unknown) => e instanceof ApiError && e.status === 401;

export const StationNav = ({ session }: { session: OfficerSession }) => {
  const t = useT();
  const [location, navigate] = useLocation();
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} aria-current={location === href ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <div class="station-bar">
      <p class="officer">
        {t('station.signedInAs', { officer: session.officerId, station: session.stationId })}{' '}
        <button
          type="button"
          class="link"
          onClick={() => {
            setOfficerSession(undefined);
            navigate('/station/sign-in');
          }}
        >
          {t('station.signOut')}
        </button>
      </p>
      <nav aria-label={t('station.nav')}>
        <ul>
          {item('/station/applications/new', t('station.newApplication'))}
          {item('/station/applications', t('station.lookup'))}
          {item('/station/revocation', t('station.revocation'))}
        </ul>
      </nav>
    </div>
  );
};
