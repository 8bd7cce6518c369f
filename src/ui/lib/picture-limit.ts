// Owns the wording of "too many pictures for this model": every picture of a conversation is in its prompt again,
// so the engine's maxImages bounds the whole conversation. Pure: no stores, no DOM.

const count = (n: number) => (n === 1 ? 'one picture' : `${n} pictures`);

/**
 * Why `adding` more pictures cannot go into a conversation that already holds `already`, for a model that reads at
 * most `max` (EngineStatus.model.maxImages); null when they fit or none are added. `sent`: the message is already
 * in the chat (the limit was only known once the model had loaded), so the advice is about what to do next.
 */
export function tooManyPictures(max: number, already: number, adding: number, sent = false): string | null {
  if (adding === 0 || already + adding <= max) return null;
  const limit = `This model can look at ${max === 1 ? 'only one picture' : `up to ${max} pictures`} in one conversation`;
  const has = already > 0 ? `; this one already had ${count(already)}` : '';
  if (sent)
    return (
      `${limit}${has}, and this message has ${count(adding)}. Nothing was sent to the model. ` +
      `Your pictures are kept in the message above: start a new chat with at most ${count(max)}.`
    );
  if (already >= max)
    return `${limit}, and this one already has ${count(already)}. Start a new chat to ask about more pictures.`;
  const excess = adding - (max - already);
  return `${limit}${has.replace('had', 'has')}. Remove ${count(excess)} to send this message, or start a new chat for ${excess === 1 ? 'it' : 'them'}.`;
}
