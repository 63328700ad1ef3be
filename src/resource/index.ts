export { ProcessResources, commandLineAttribute, type MetadataLookup, type ProcessResourcesOptions } from './process-resources.js';
