// The forget file's sha256 and row count, computed in the browser from a picked file: the rows stay
// on this machine (the scope records only the hash and the count, as `lethe request scope` does).

export async function describeFile(file: File): Promise<{ sha256: string; rows: number }> {
  const bytes = await file.arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  // A row is a non-empty line, as the CLI counts them.
  const rows = new TextDecoder()
    .decode(bytes)
    .split('\n')
    .filter((l) => l.trim()).length;
  return { sha256, rows };
}
