/**
 * The one place a process's identity and resource are decided: service.name precedence, host and
 * Kubernetes/container metadata, OTEL_RESOURCE_ATTRIBUTES. Exporters are handed the result.
 */
export { ProcessResources, commandLineAttribute, type MetadataLookup, type ProcessResourcesOptions } from './process-identity.js';
export { detectHostResource, detectResource, mergeResource, parseResourceAttributes, type ParsedResourceAttributes } from './merge.js';
