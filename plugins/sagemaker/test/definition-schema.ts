/**
 * A JSON schema (draft-07) for the subset of the SageMaker pipeline definition (Version 2020-12-01)
 * orch emits, written for these tests: the field names, types and limits of the pipeline definition
 * format and of the CreateProcessingJob API reference (AppSpecification, Environment,
 * ProcessingResources.ClusterConfig, StoppingCondition, NetworkConfig, Tags), every object closed
 * (`additionalProperties: false`) so a misspelt or invented field fails.
 *
 * AWS publishes a schema for the whole format (aws-sagemaker-mlops/sagemaker-model-building-pipeline-
 * definition-JSON-schema on GitHub), but without a licence, so it is not copied here. One known
 * difference: that schema types RetryPolicy.ExceptionType as one string, while the SageMaker Python
 * SDK (which writes most definitions) and the service take a list; this schema follows the SDK.
 */
const stringValue = { oneOf: [{ type: "string", maxLength: 256 }, { $ref: "#/definitions/Get" }] };
const name64 = { type: "string", pattern: "^[A-Za-z0-9\\-_]{1,64}$" };

export const definitionSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "SageMaker pipeline definition (the subset orch emits)",
  type: "object",
  required: ["Version", "Steps"],
  additionalProperties: false,
  properties: {
    Version: { const: "2020-12-01" },
    Metadata: { type: "object", additionalProperties: { type: "string", maxLength: 1024 } },
    Parameters: {
      type: "array",
      items: {
        type: "object",
        required: ["Name", "Type"],
        additionalProperties: false,
        properties: {
          Name: name64,
          Type: { enum: ["String", "Integer", "Float", "Boolean"] },
          Description: { type: "string", maxLength: 3072 },
          DefaultValue: { type: ["string", "number", "boolean"] },
        },
      },
    },
    Steps: { type: "array", minItems: 1, items: { $ref: "#/definitions/ProcessingStep" } },
  },
  definitions: {
    Get: { type: "object", required: ["Get"], additionalProperties: false, properties: { Get: { type: "string", pattern: "^(Parameters\\.[A-Za-z0-9\\-_]{1,64}|Execution\\.(PipelineExecutionId|PipelineExecutionArn|PipelineName|PipelineArn|StartDateTime|CurrentDateTime))$" } } },
    ProcessingStep: {
      type: "object",
      required: ["Name", "Type", "Arguments"],
      additionalProperties: false,
      properties: {
        Name: name64,
        Type: { const: "Processing" },
        Description: { type: "string", maxLength: 3072 },
        DependsOn: { type: "array", minItems: 1, items: name64, uniqueItems: true },
        RetryPolicies: {
          type: "array",
          items: {
            type: "object",
            required: ["ExceptionType"],
            additionalProperties: false,
            properties: {
              ExceptionType: { type: "array", minItems: 1, uniqueItems: true, items: { enum: ["Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"] } },
              IntervalSeconds: { type: "integer", minimum: 1, maximum: 43200 },
              BackoffRate: { type: "number", minimum: 0 },
              MaxAttempts: { type: "integer", minimum: 1, maximum: 20 },
              ExpireAfterMin: { type: "integer", minimum: 1, maximum: 14400 },
            },
          },
        },
        Arguments: {
          type: "object",
          required: ["ProcessingResources", "AppSpecification", "RoleArn"],
          additionalProperties: false,
          properties: {
            ProcessingResources: {
              type: "object",
              required: ["ClusterConfig"],
              additionalProperties: false,
              properties: {
                ClusterConfig: {
                  type: "object",
                  required: ["InstanceCount", "InstanceType", "VolumeSizeInGB"],
                  additionalProperties: false,
                  properties: {
                    InstanceCount: { type: "integer", minimum: 1, maximum: 100 },
                    InstanceType: { type: "string", pattern: "^ml\\.[a-z0-9]+\\.[a-z0-9]+$" },
                    VolumeSizeInGB: { type: "integer", minimum: 1, maximum: 16384 },
                    VolumeKmsKeyId: { type: "string", maxLength: 2048 },
                  },
                },
              },
            },
            AppSpecification: {
              type: "object",
              required: ["ImageUri"],
              additionalProperties: false,
              properties: {
                ImageUri: { type: "string", maxLength: 255 },
                ContainerEntrypoint: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 256 } },
                ContainerArguments: { type: "array", minItems: 1, maxItems: 256, items: stringValue },
              },
            },
            Environment: {
              type: "object",
              maxProperties: 100,
              propertyNames: { pattern: "^[a-zA-Z_][a-zA-Z0-9_]{0,255}$" },
              additionalProperties: stringValue,
            },
            RoleArn: { type: "string", pattern: "^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$" },
            StoppingCondition: { type: "object", required: ["MaxRuntimeInSeconds"], additionalProperties: false, properties: { MaxRuntimeInSeconds: { type: "integer", minimum: 1, maximum: 777600 } } },
            NetworkConfig: {
              type: "object",
              additionalProperties: false,
              properties: {
                EnableNetworkIsolation: { type: "boolean" },
                EnableInterContainerTrafficEncryption: { type: "boolean" },
                VpcConfig: {
                  type: "object",
                  required: ["Subnets", "SecurityGroupIds"],
                  additionalProperties: false,
                  properties: {
                    Subnets: { type: "array", minItems: 1, maxItems: 16, items: { type: "string", pattern: "^[-0-9a-zA-Z]+$" } },
                    SecurityGroupIds: { type: "array", minItems: 1, maxItems: 5, items: { type: "string", pattern: "^[-0-9a-zA-Z]+$" } },
                  },
                },
              },
            },
            Tags: {
              type: "array",
              maxItems: 50,
              items: { type: "object", required: ["Key", "Value"], additionalProperties: false, properties: { Key: { type: "string", minLength: 1, maxLength: 128 }, Value: { type: "string", maxLength: 256 } } },
            },
          },
        },
      },
    },
  },
} as const;
