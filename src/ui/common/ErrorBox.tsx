/** An error the user must see, announced to screen readers. */
export function ErrorBox({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <div className="card error" role="alert" data-testid="error">
      {error}
    </div>
  );
}
