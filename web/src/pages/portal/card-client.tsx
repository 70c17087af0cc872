import { useState } from 'preact/hooks';
import { Link } from 'wouter-preact';
import { useT } from '../../i18n.js';

/**
 * Activation, PIN unblock and a subscriber code change need the card itself (its challenge, its
 * signature key, its PIN pad), so the browser does not do them: it explains and hands off to the card
 * client on the holder's computer, with the exact command to run (the repository's `npm run card`,
 * program `acdc-card`, see card-client/README.md).
 */
export const CARD_CLIENT_COMMANDS = {
  activate: 'npm run card -- activate',
  unblock: 'npm run card -- unblock',
  changeCode: 'npm run card -- change-code',
  changePin: 'npm run card -- change-pin',
  info: 'npm run card -- info',
  selfTest: 'npm run card -- selftest',
} as const;

export const CardClientCommand = ({ command }: { command: string }) => {
  const t = useT();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      // Clipboard refused (no permission): the command stays selectable.
    }
  };
  return (
    <div class="command">
      <code>{command}</code>
      <button type="button" class="small" onClick={() => void copy()}>
        {copied ? t('cardClient.copied') : t('cardClient.copy')}
      </button>
    </div>
  );
};

export const CardClientHelp = () => {
  const t = useT();
  return (
    <>
      <h1>{t('cardClient.title')}</h1>
      <p class="lead">{t('cardClient.lead')}</p>

      <section aria-labelledby="cc-before">
        <h2 id="cc-before">{t('cardClient.beforeTitle')}</h2>
        <ol>
          <li>{t('cardClient.beforeReader')}</li>
          <li>{t('cardClient.beforeInstall')}</li>
          <li>
            {t('cardClient.beforeSelfTest')}
            <CardClientCommand command={CARD_CLIENT_COMMANDS.selfTest} />
          </li>
        </ol>
      </section>

      <section aria-labelledby="cc-activate">
        <h2 id="cc-activate">{t('cardClient.activateTitle')}</h2>
        <p>{t('cardClient.activateText')}</p>
        <CardClientCommand command={CARD_CLIENT_COMMANDS.activate} />
        <ol>
          <li>{t('cardClient.activateStep1')}</li>
          <li>{t('cardClient.activateStep2')}</li>
          <li>{t('cardClient.activateStep3')}</li>
        </ol>
      </section>

      <section aria-labelledby="cc-unblock">
        <h2 id="cc-unblock">{t('cardClient.unblockTitle')}</h2>
        <p>{t('cardClient.unblockText')}</p>
        <CardClientCommand command={CARD_CLIENT_COMMANDS.unblock} />
      </section>

      <section aria-labelledby="cc-code">
        <h2 id="cc-code">{t('cardClient.codeTitle')}</h2>
        <p>{t('cardClient.codeText')}</p>
        <CardClientCommand command={CARD_CLIENT_COMMANDS.changeCode} />
        <p>
          {t('cardClient.codeBeforeActivation')}{' '}
          <Link href="/portal/subscriber-code">{t('login.retrieveLink')}</Link>
        </p>
      </section>

      <section aria-labelledby="cc-other">
        <h2 id="cc-other">{t('cardClient.otherTitle')}</h2>
        <dl class="commands">
          <dt>{t('cardClient.changePin')}</dt>
          <dd>
            <CardClientCommand command={CARD_CLIENT_COMMANDS.changePin} />
          </dd>
          <dt>{t('cardClient.info')}</dt>
          <dd>
            <CardClientCommand command={CARD_CLIENT_COMMANDS.info} />
          </dd>
        </dl>
      </section>
    </>
  );
};
