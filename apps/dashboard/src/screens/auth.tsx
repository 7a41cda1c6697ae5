import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { BASE, navigate } from "../navigation";
import { session } from "../session";
import { type Outputs, useTRPC } from "../trpc";
import { ApiError, Field, Link } from "../ui";

/** Where to go after signing in: the page a 401 interrupted (only a path of ours), else the projects. */
function afterSignIn(): string {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith(`${BASE}/`) && !next.startsWith("//") ? next : `${BASE}/projects`;
}

function useSignedIn() {
  const queryClient = useQueryClient();
  return (res: Outputs["auth"]["login"]) => {
    queryClient.clear();
    session.signIn(res.access_token, res.user.organizations[0]?.id ?? null);
    navigate(afterSignIn(), { replace: true });
  };
}

export function Login() {
  const trpc = useTRPC();
  const signedIn = useSignedIn();
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess: signedIn }));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate({ email, password });
  };
  return (
    <main className="narrow">
      <h1>Log in to ReachBell</h1>
      <form onSubmit={submit} aria-label="Log in">
        <Field label="Email" name="email" type="email" autoComplete="username" value={email} onChange={setEmail} required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={setPassword} required />
        <ApiError error={login.error} />
        <button type="submit" disabled={login.isPending}>
          Log in
        </button>
      </form>
      <p>
        No account? <Link to={`${BASE}/signup`}>Sign up</Link>
      </p>
    </main>
  );
}

export function Signup() {
  const trpc = useTRPC();
  const signedIn = useSignedIn();
  const register = useMutation(trpc.auth.register.mutationOptions({ onSuccess: signedIn }));
  const [form, setForm] = useState({ name: "", email: "", password: "", organizationName: "" });
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <main className="narrow">
      <h1>Create your ReachBell account</h1>
      <form
        aria-label="Sign up"
        onSubmit={(e) => {
          e.preventDefault();
          register.mutate(form);
        }}
      >
        <Field label="Your name" name="name" autoComplete="name" value={form.name} onChange={set("name")} required />
        <Field label="Email" name="email" type="email" autoComplete="username" value={form.email} onChange={set("email")} required />
        <Field label="Password" name="password" type="password" autoComplete="new-password" value={form.password} onChange={set("password")} required />
        <Field label="Organization name" name="organizationName" value={form.organizationName} onChange={set("organizationName")} required />
        <ApiError error={register.error} />
        <button type="submit" disabled={register.isPending}>
          Sign up
        </button>
      </form>
      <p>
        Already have an account? <Link to={`${BASE}/login`}>Log in</Link>
      </p>
    </main>
  );
}
