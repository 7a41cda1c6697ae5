import { type ReactNode, useId, useState } from "react";
import { describeApiError } from "./trpc";
import { navigate } from "./navigation";

/** An API error as the user sees it: the API's message and the requestId to quote to support. */
export function ApiError({ error }: { error: unknown }) {
  if (!error) return null;
  const { message, requestId } = describeApiError(error);
  return (
    <div role="alert" className="error">
      <p>{message}</p>
      {requestId && (
        <p className="muted">
          Request ID: <code>{requestId}</code>
        </p>
      )}
    </div>
  );
}

export function Field(props: { label: string; name: string; type?: string; value: string; onChange: (v: string) => void; required?: boolean; autoComplete?: string; hint?: string; placeholder?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autoComplete={props.autoComplete}
        placeholder={props.placeholder}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.hint && (
        <small id={`${id}-hint`} className="muted">
          {props.hint}
        </small>
      )}
    </div>
  );
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** A destructive action asked twice, inline (no window.confirm: it blocks and is easy to click through). */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, disabled }: { label: string; question: string; confirmLabel: string; onConfirm: () => void; disabled?: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className="danger" onClick={() => setAsking(true)} disabled={disabled}>
        {label}
      </button>
    );
  return (
    <span role="group" aria-label={question} className="confirm">
      <span>{question}</span>{" "}
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Loading() {
  return (
    <p role="status" className="muted">
      Loading…
    </p>
  );
}

export function formatDate(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "never";
}
