// "I don't know"-style answers that IdkDPO and IdkNLL train forget questions towards (TOFU ships
// such a list; this one is our own). Varied on purpose: a model taught one refusal learns a
// template, not an absence of knowledge.
export const IDK_ANSWERS: readonly string[] = [
  "I don't know.",
  "I'm not sure about that.",
  "I don't have that information.",
  "That's something I can't answer.",
  "I have no idea.",
];

/** The IdK answer for the i-th forget item (deterministic, cycling through the list). */
export function idkAnswer(index: number): string {
  return IDK_ANSWERS[index % IDK_ANSWERS.length]!;
}
