import { Link } from 'wouter-preact';
import { useT } from '../i18n.js';

export const Home = () => {
  const t = useT();
  return (
    <>
      <h1>{t('home.title')}</h1>
      <p class="lead">{t('home.lead')}</p>
      <ul class="tiles">
        <li>
          <Link href="/portal/login" class="tile">
            <strong>{t('home.portal')}</strong>
            <span>{t('home.portalText')}</span>
          </Link>
        </li>
        <li>
          <Link href="/portal/card" class="tile">
            <strong>{t('home.card')}</strong>
            <span>{t('home.cardText')}</span>
          </Link>
        </li>
        <li>
          <Link href="/status" class="tile">
            <strong>{t('home.status')}</strong>
            <span>{t('home.statusText')}</span>
          </Link>
        </li>
        <li>
          <Link href="/station" class="tile secondary">
            <strong>{t('home.station')}</strong>
            <span>{t('home.stationText')}</span>
          </Link>
        </li>
      </ul>
    </>
  );
};
