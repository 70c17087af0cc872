import type { ComponentChildren, JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { ApiError, serverMessage } from './api.js';
import { i18n, translate, useT } from './i18n.js';
import type { Problem } from './validation.js';

/**
 * Form state with validation as the person types: a field's problem shows once they have left it, or
 * as soon as the value is long enough to be judged (`eagerAt`), and then follows every keystroke.
 * Server `field` errors are shown in the same place until the field is changed.
 */
export interface FieldState {
  id: string;
  value: string;
  problem: Problem | undefined;
  server: Problem | undefined;
  onInput: (e: JSX.TargetedEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => void;
  onBlur: () => void;
}

export const useForm = <F extends Record<string, string>>(
  formId: string,
  initial: F,
  rules: { [K in keyof F]?: (value: string, all: F) => Problem | undefined },
  eagerAt: { [K in keyof F]?: number } = {},
) => {
  const [values, setValues] = useState<F>(initial);
  const [touched, setTouched] = useState<Partial<Record<keyof F, boolean>>>({});
  const [server, setServer] = useState<Partial<Record<keyof F, Problem>>>({});
  const formRef = useRef<HTMLFormElement>(null);

  const problemOf = (name: keyof F, all: F = values): Problem | undefined =>
    rules[name]?.(all[name] ?? '', all);

  const set = (name: keyof F, value: string) => {
    setValues((v) => ({ ...v, [name]: value }));
    setServer((s) => ({ ...s, [name]: undefined }));
    const eager = eagerAt[name];
    if (eager !== undefined && value.length >= eager) setTouched((t) => ({ ...t, [name]: true }));
  };

  const field = (name: keyof F & string): FieldState => ({
    id: `${formId}-${name}`,
    value: values[name] ?? '',
    problem: touched[name] ? problemOf(name) : undefined,
    server: server[name],
    onInput: (e) => set(name, e.currentTarget.value),
    onBlur: () => setTouched((t) => ({ ...t, [name]: true })),
  });

  const focusField = (name: string) => {
    document.getElementById(`${formId}-${name}`)?.focus();
  };

  /** Marks every field touched; focuses the first one with a problem. True when all are fine. */
  const validateAll = (only?: (keyof F)[]): boolean => {
    const names = (only ?? (Object.keys(rules) as (keyof F)[])).filter((n) => rules[n]);
    setTouched((t) => ({ ...t, ...Object.fromEntries(names.map((n) => [n, true])) }));
    const bad = names.find((n) => problemOf(n));
    if (bad !== undefined) {
      focusField(String(bad));
      return false;
    }
    return true;
  };

  /**
   * Puts a server error next to its field when the form has that field (after `mapField`); returns
   * false when the error does not name one of ours (the caller shows it at the top of the form).
   */
  const showServerError = (e: unknown, mapField: (f: string) => keyof F | undefined = (f) => f): boolean => {
    if (!(e instanceof ApiError) || !e.field) return false;
    const name = mapField(e.field);
    if (name === undefined || !(name in values)) return false;
    setServer((s) => ({ ...s, [name]: problemFromServer(e) }));
    setTimeout(() => focusField(String(name)), 0);
    return true;
  };

  return { values, set, field, validateAll, showServerError, formRef, setValues };
};

/** Rules named by their last part when we have no words for the whole rule (`address.city.length`). */
const GENERIC: [RegExp, string][] = [
  [/\.required$/, 'rules.required'],
  [/\.length$/, 'rules.text.tooLong'],
  [/\.control_characters$/, 'rules.text.control'],
];

/** The i18n key for a rule id, or undefined when we have no words for it. */
const ruleKey = (rule: string): string | undefined => {
  if (i18n.exists(`rules.${rule}`)) return `rules.${rule}`;
  return GENERIC.find(([re]) => re.test(rule))?.[1];
};

/** The words for a problem in the current language. */
export const problemText = (p: Problem): string => {
  if (i18n.exists(p.key) || !p.key.startsWith('rules.')) return translate(p.key, p.values);
  const key = ruleKey(p.key.slice('rules.'.length));
  return translate(key ?? p.key, p.values);
};

/** A server error as a problem: our own wording when we know the rule, else the server's message. */
export const problemFromServer = (e: ApiError): Problem => {
  const key = e.rule ? ruleKey(e.rule) : undefined;
  return key ? { key } : { key: 'errors.server', values: { message: serverMessage(e) } };
};

/** A sentence for a failed request that names no field of the form. */
export const describeError = (e: unknown): Problem => {
  if (!(e instanceof ApiError)) return { key: 'errors.unexpected' };
  switch (e.code) {
    case 'network':
      return { key: 'errors.network' };
    case 'rate_limited':
      return { key: 'errors.rateLimited', values: { seconds: e.retryAfterSeconds ?? 60 } };
    case 'internal':
    case 'dependency_unavailable':
      return { key: 'errors.unavailable' };
    default:
      return problemFromServer(e);
  }
};

interface InputProps {
  state: FieldState;
  label: ComponentChildren;
  hint?: ComponentChildren;
  type?: string;
  required?: boolean;
  autoComplete?: string;
  inputMode?: 'text' | 'numeric' | 'email' | 'tel' | 'none' | 'decimal' | 'search' | 'url';
  maxLength?: number;
  placeholder?: string;
  autoCapitalize?: 'none' | 'off' | 'on' | 'sentences' | 'words' | 'characters';
  spellcheck?: boolean;
}

const ProblemText = ({ state }: { state: FieldState }) => {
  useT(); // re-render on a language switch
  const shown = state.server ?? state.problem;
  const text = shown ? problemText(shown) : '';
  return (
    <p id={`${state.id}-error`} class="field-error" aria-live="polite">
      {text ? (
        <>
          <span aria-hidden="true">⚠ </span>
          {text}
        </>
      ) : null}
    </p>
  );
};

const describedBy = (state: FieldState, hint: boolean) =>
  [hint ? `${state.id}-hint` : '', `${state.id}-error`].filter(Boolean).join(' ');

export const Input = (p: InputProps) => {
  const t = useT();
  const invalid = Boolean(p.state.problem || p.state.server);
  return (
    <div class={`field${invalid ? ' invalid' : ''}`}>
      <label for={p.state.id}>
        {p.label}
        {p.required ? <span class="req">{t('form.requiredMark')}</span> : null}
      </label>
      {p.hint ? (
        <p id={`${p.state.id}-hint`} class="hint">
          {p.hint}
        </p>
      ) : null}
      <input
        id={p.state.id}
        name={p.state.id}
        type={p.type ?? 'text'}
        value={p.state.value}
        onInput={p.state.onInput}
        onBlur={p.state.onBlur}
        aria-invalid={invalid ? 'true' : 'false'}
        aria-required={p.required ? 'true' : undefined}
        aria-describedby={describedBy(p.state, Boolean(p.hint))}
        autoComplete={p.autoComplete ?? 'off'}
        inputMode={p.inputMode}
        maxLength={p.maxLength}
        placeholder={p.placeholder}
        autoCapitalize={p.autoCapitalize}
        spellcheck={p.spellcheck ?? false}
      />
      <ProblemText state={p.state} />
    </div>
  );
};

export const Select = (p: {
  state: FieldState;
  label: ComponentChildren;
  options: { value: string; label: string }[];
  hint?: ComponentChildren;
}) => {
  const invalid = Boolean(p.state.problem || p.state.server);
  return (
    <div class={`field${invalid ? ' invalid' : ''}`}>
      <label for={p.state.id}>{p.label}</label>
      {p.hint ? (
        <p id={`${p.state.id}-hint`} class="hint">
          {p.hint}
        </p>
      ) : null}
      <select
        id={p.state.id}
        name={p.state.id}
        value={p.state.value}
        onChange={p.state.onInput}
        onBlur={p.state.onBlur}
        aria-invalid={invalid ? 'true' : 'false'}
        aria-describedby={describedBy(p.state, Boolean(p.hint))}
      >
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <ProblemText state={p.state} />
    </div>
  );
};

/** A radio group as a fieldset with a legend, so screen readers announce the question with each choice. */
export const RadioGroup = (p: {
  state: FieldState;
  legend: ComponentChildren;
  options: { value: string; label: ComponentChildren }[];
}) => (
  <fieldset class="radios">
    <legend>{p.legend}</legend>
    {p.options.map((o) => (
      <label key={o.value} class="radio">
        <input
          type="radio"
          name={p.state.id}
          value={o.value}
          checked={p.state.value === o.value}
          onChange={p.state.onInput}
        />
        <span>{o.label}</span>
      </label>
    ))}
  </fieldset>
);

/** A form-level message; errors interrupt (role=alert), confirmations wait their turn (role=status). */
export const Notice = ({
  kind,
  children,
  id,
}: {
  kind: 'error' | 'success' | 'info' | 'warning';
  children: ComponentChildren;
  id?: string;
}) => (
  <div id={id} class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
    {children}
  </div>
);
