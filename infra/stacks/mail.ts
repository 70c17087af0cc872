import { Stack, type StackProps } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import type { Construct } from 'constructs';
import { type DeployConfig, mailConfigurationSetName } from '../config.js';

/**
 * SES in the mail region (acdc:mailRegion; SES is not offered in every region, Taipei included): the
 * configuration set every mail goes through (TLS required, bounces and complaints suppressed, send /
 * delivery / bounce / complaint / reject counts per mail template for the dashboard) and, when
 * acdc:mailDomain is set, the domain identity with DKIM. The sender identity itself must be verified and
 * the account moved out of the SES sandbox by hand (docs/deploy.md).
 */
export interface MailStackProps extends StackProps {
  config: DeployConfig;
}

export class MailStack extends Stack {
  readonly configurationSet: ses.ConfigurationSet;

  constructor(scope: Construct, id: string, props: MailStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.configurationSet = new ses.ConfigurationSet(this, 'MailConfigurationSet', {
      configurationSetName: mailConfigurationSetName(config),
      reputationMetrics: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
    });
    this.configurationSet.addEventDestination('Metrics', {
      destination: ses.EventDestination.cloudWatchDimensions([
        // The SES mailer tags every message with its template name (shared/adapters/mail/ses.ts).
        { name: 'template', source: ses.CloudWatchDimensionSource.MESSAGE_TAG, defaultValue: 'none' },
      ]),
      events: [
        ses.EmailSendingEvent.SEND,
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.REJECT,
      ],
    });
    if (config.mailDomain) {
      new ses.EmailIdentity(this, 'MailDomainIdentity', {
        identity: ses.Identity.domain(config.mailDomain),
        configurationSet: this.configurationSet,
      });
    }
  }
}
