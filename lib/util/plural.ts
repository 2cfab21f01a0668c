/** "1 sample", "2 samples", "0 samples": a count with its noun in the right number. */
export function plural(n: number, noun: string, nouns: string = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
