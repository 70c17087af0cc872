/**
 * The issuance workflow engine: AWS Step Functions in AWS, aws-local-stepfunctions in process locally.
 * The database is the source of truth; the workflow only sequences work and waits.
 */
export interface Workflow {
  /** Start the issuance execution for an application. Idempotent: one execution per application. */
  startIssuance(applicationId: string): Promise<void>;
  /** Resume a task waiting on `taskToken` with `output`. Unknown or finished tokens are ignored. */
  sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}
