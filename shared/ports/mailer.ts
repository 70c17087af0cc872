/** Outbound mail. SES in AWS; .eml files in a local outbox folder. Bodies are bilingual (zh-TW / en). */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Template name, e.g. 'application-received', for tests and metrics. Never a secret. */
  template: string;
  /** Correlation (application id, card number) for the outbox file name and logs. */
  reference: string;
  attachments?: { filename: string; contentType: string; content: Uint8Array }[];
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}
