// Pipelines that child processes import (orch-entrypoint tests): they must live in a module file.
import { pipeline, step } from "../index.js";

export const makeNumbers = step({ name: "make_numbers" }, (count: number) => Array.from({ length: count }, (_, i) => i + 1));
export const sumNumbers = step({ name: "sum_numbers" }, (numbers: number[]) => numbers.reduce((a, b) => a + b, 0));
export const square = step({ name: "square" }, (value: number) => value * value);
export const pid = step({ name: "pid" }, (_after: number) => process.pid);

export const arithmetic = pipeline({ name: "arithmetic" }, (p: { count: number }) => {
  const numbers = makeNumbers(p.count);
  const total = sumNumbers(numbers);
  square(total);
  pid(total);
});
