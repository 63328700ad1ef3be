export { ProcessResources, type MetadataLookup } from './process-resources.js';
