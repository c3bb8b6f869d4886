import { pipeline, z } from "@orch/core";
import { evaluateModel, loadData, promoteModel, splitData, trainModel } from "./steps.js";

export const trainingParams = z
  .object({
    testFraction: z.number().gt(0).lt(1).default(0.3).describe("Share of flowers held out for evaluation."),
    nEstimators: z.number().int().min(1).default(25).describe("Trees in the random forest."),
    seed: z.number().int().default(42).describe("Seed for the split and the forest."),
    threshold: z.number().min(0).max(1).default(0.9).describe("Accuracy a model needs to be promoted."),
  })
  .strict();

/** Load iris → split → train a random forest → evaluate → promote above a threshold. */
export const irisTraining = pipeline({ name: "iris_training", params: trainingParams }, (p) => {
  const data = loadData();
  const { train, test } = splitData(data, p.testFraction, p.seed);
  const model = trainModel(train, p.nEstimators, p.seed);
  const accuracy = evaluateModel(model, test);
  promoteModel(model, accuracy, p.threshold);
});
