/**
 * The most output tokens per answer whose cost fits in `budget`, between 0 and `mostPerAnswer`:
 * `costOf(perAnswer)` is what the call costs when each of its answers writes `perAnswer` tokens (it
 * grows with them). 0 when not even one token per answer is affordable. A binary search: costs are
 * rounded up to whole credits, so the answer is found exactly, not estimated.
 */
export function affordableOutput(costOf: (perAnswer: number) => number, mostPerAnswer: number, budget: number): number {
  if (mostPerAnswer < 1 || costOf(1) > budget) return 0;
  let low = 1;
  let high = mostPerAnswer;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (costOf(middle) <= budget) low = middle;
    else high = middle - 1;
  }
  return low;
}
